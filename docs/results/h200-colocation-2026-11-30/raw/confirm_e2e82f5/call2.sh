# call 2: batch 1, every mix, baseline, static-best (the first run's search's best) and eclip-tuned,
# two repetitions.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r2; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt; nvidia-smi > $R/nvidia-smi.txt 2>&1
LEFT=$((580 - (SECONDS - T0)))
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix2,mix3,mix4,mix5,mix6,mix7 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix2=4/5/4/3,mix3=5/4/3/4,mix4=3/5/4/4,mix5=4/4/5/3,mix6=4/4/3/5,mix7=5/4/3/4" \
  timeout $LEFT bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r2.tar.gz -C /tmp r2
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b1.txt | cut -c1-170 | tail -40
