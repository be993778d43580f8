# call 4 (3892d0f, the band rule after the pick is measured again): batch 1, mixes 5 and 2, as call 2.
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r4; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt
QUEUES=library R=$R BATCH=1 MIXES=mix5,mix2 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned SWEEP_ARGS="--static-best mix2=4/5/4/3,mix5=4/4/5/3" \
  timeout 170 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r4.tar.gz -C /tmp r4
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b1.txt | cut -c1-170 | tail -20
