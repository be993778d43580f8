# call 4 (aadb2ea): batch-8 mixes 6 and 4 with 2-s windows instead of 0.8 (about 130 albert requests
# per window instead of 52: is the tail's noise what broke mix6's p95 in call 1?), the rest as call 1.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r4; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt
QUEUES=library R=$R BATCH=8 MIXES=mix6,mix4 WINDOW=2 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b8_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix4=3/5/5/3,mix6=4/4/3/5 --reference 3" \
  timeout 330 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r4.tar.gz -C /tmp r4
grep -h "== sweep\|idle\|rep[01] mix\|reference\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b8.txt | cut -c1-170 | tail -30
echo "wall $((SECONDS - T0)) s"
