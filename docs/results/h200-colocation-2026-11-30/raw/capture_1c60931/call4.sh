C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r4; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt
(LD_LIBRARY_PATH=$C timeout 150 $C/test_cuda_gpu 2>&1 | tail -25) > $R/test_cuda_gpu.txt
(cd $C/python && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_torch_gpu.py 2>&1 | tail -15) > $R/pytest_gpu.txt
(cd $S && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 100 python3 setup_cost.py --batch 1 --mix mix1 \
   --splits 4/4/4/4,3/4/5/4,4/1/9/2,3/1/10/2,2/3/5/6,5/3/4/4 --cycles 5 --out $R/setup_cost_cycles_mix1_b1.json) > $R/setup_cost_cycles.txt 2>&1
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix4 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix4=3/5/4/4" timeout 200 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r4.tar.gz -C /tmp r4
tail -4 $R/test_cuda_gpu.txt; tail -6 $R/pytest_gpu.txt
grep -h "mix1 " $R/setup_cost_cycles.txt | cut -c1-250 | awk 'NR<=3 || NR%6==0'; tail -3 $R/setup_cost_cycles.txt | cut -c1-300
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b1.txt | cut -c1-160 | tail -20
