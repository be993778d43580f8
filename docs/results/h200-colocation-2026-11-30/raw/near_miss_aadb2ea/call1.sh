# call 1 (aadb2ea, the search's near misses): batch 8, every mix (mix6 first), baseline, static-best
# (the first run's search's best) and eclip-tuned, two repetitions; then MPS 25 % and 50 % at batch 8.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r1; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt; nvidia-smi > $R/nvidia-smi.txt 2>&1
LEFT=$((500 - (SECONDS - T0)))
QUEUES=library R=$R BATCH=8 MIXES=mix6,mix4,mix1,mix2,mix3,mix5,mix7 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b8_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=4/4/5/3,mix2=4/5/3/4,mix3=5/4/3/4,mix4=3/5/5/3,mix5=4/5/4/3,mix6=4/4/3/5,mix7=6/2/4/4 --reference 3" \
  timeout $LEFT bash $S/run_h200.sh sweep > /dev/null 2>&1
LEFT=$((585 - (SECONDS - T0)))
R=$R BATCH=8 REPS=2 WINDOW=0.8 timeout $LEFT bash $S/run_h200.sh mps > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r1.tar.gz -C /tmp r1
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b8.txt | cut -c1-170 | tail -42
grep -h "mps-\|rror" $R/log_mps_b8.txt | cut -c1-120 | tail -30
echo "wall $((SECONDS - T0)) s"
