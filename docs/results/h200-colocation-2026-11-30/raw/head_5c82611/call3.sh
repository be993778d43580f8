C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r3; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt
(cd $S && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 100 python3 setup_cost.py --batch 1 --mix mix1 \
   --splits 4/4/4/4,3/4/5/4,4/1/9/2,3/1/10/2,2/3/5/6,5/3/4/4 --cycles 5 --out $R/setup_cost_cycles_mix1_b1.json) > $R/setup_cost_cycles.txt 2>&1
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix2,mix3,mix4 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,eclip-tuned,eclip-tuned-plan-starts timeout 440 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r3.tar.gz -C /tmp r3
grep -h "mix1 " $R/setup_cost_cycles.txt | cut -c1-220 | awk 'NR<=3 || NR%6==0'; tail -3 $R/setup_cost_cycles.txt | cut -c1-300
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b1.txt | cut -c1-160 | tail -40
