C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
P=$C/profile/profile_b1_energy.json
R=/tmp/r4 BATCH=1 MIXES=mix7,mix5 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$P \
  SWEEP_ARGS="--static-best mix5=4/4/5/3,mix7=5/4/3/4" timeout 265 bash $S/run_h200.sh sweep > /dev/null 2>&1
R=/tmp/r4 BATCH=1 MIXES=mix6 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$P \
  SWEEP_ARGS="--static-best mix6=4/4/3/5 --static-best-slo mix6=2/3/8/3" \
  STRATEGIES=baseline,static-equal,kernel-wise,eclip-budget,eclip,static-best,static-best-slo,eclip-tuned timeout 170 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > /tmp/r4/date.txt
tar czf $OUT/r4.tar.gz -C /tmp r4
grep -h "== sweep\|rep[01] mix\|tuned:\|rror" /tmp/r4/log_sweep_b1.txt | cut -c1-200 | tail -60
