C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r1; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv > $R/device.txt 2>&1
date -u > $R/date_start.txt
(cd $S && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 90 python3 setup_cost.py --batch 1 --mix mix1 \
   --splits 4/4/4/4,3/4/5/4,4/1/9/2,3/1/10/2,2/3/5/6,4/4/4/4 --out $R/setup_cost_mix1_b1.json) > $R/setup_cost.txt 2>&1
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix2,mix3,mix4 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix2=4/5/4/3,mix3=5/4/3/4,mix4=3/5/4/4" timeout 430 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r1.tar.gz -C /tmp r1
cat $R/device.txt; tail -8 $R/setup_cost.txt
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b1.txt | cut -c1-160 | tail -40
