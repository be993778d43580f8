C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r5; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix4 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix4=3/5/4/4" timeout 225 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r5.tar.gz -C /tmp r5
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror" $R/log_sweep_b1.txt | cut -c1-150 | tail -30
python3 -c "
import json
for m in ('mix1','mix4'):
    d=json.load(open('$R/sweep/'+m+'_b1.json')); print(m, d['tune']['pick'])"
