# call 3 (the reference windows): batch 8 mixes 6, 4 and 2, then batch 1 mixes 6 and 3, as calls 1 and 2.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r3; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt; nvidia-smi > $R/nvidia-smi.txt 2>&1
QUEUES=library R=$R BATCH=8 MIXES=mix6,mix4,mix2 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b8_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned SWEEP_ARGS="--static-best mix2=4/5/3/4,mix4=3/5/5/3,mix6=4/4/3/5" \
  timeout 240 bash $S/run_h200.sh sweep > /dev/null 2>&1
LEFT=$((470 - (SECONDS - T0)))
QUEUES=library R=$R BATCH=1 MIXES=mix6,mix3 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned SWEEP_ARGS="--static-best mix3=5/4/3/4,mix6=4/4/3/5" \
  timeout $LEFT bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r3.tar.gz -C /tmp r3
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b8.txt $R/log_sweep_b1.txt | cut -c1-170 | tail -40
