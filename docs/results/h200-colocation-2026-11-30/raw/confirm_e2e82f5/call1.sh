# call 1: the GPU tests, setup_cost.py --running (batch 8, mix1), then batch 8, every mix,
# baseline, static-best (the first run's search's best) and eclip-tuned, two repetitions.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r1; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
date -u > $R/date_start.txt; nvidia-smi > $R/nvidia-smi.txt 2>&1
(LD_LIBRARY_PATH=$C timeout 150 $C/test_cuda_gpu 2>&1 | tail -25) > $R/test_cuda_gpu.txt
(cd $C/python && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_torch_gpu.py 2>&1 | tail -15) > $R/pytest_gpu.txt
(cd $S && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 60 python3 setup_cost.py --batch 8 --mix mix1 --running \
   --splits 4/4/4/4,4/4/5/3,3/4/5/4,5/4/4/3 --out $R/setup_cost_running_mix1_b8.json) > $R/setup_cost_running.txt 2>&1
LEFT=$((575 - (SECONDS - T0)))
QUEUES=library R=$R BATCH=8 MIXES=mix6,mix4,mix1,mix2,mix3,mix5,mix7 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b8_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=4/4/5/3,mix2=4/5/3/4,mix3=5/4/3/4,mix4=3/5/5/3,mix5=4/5/4/3,mix6=4/4/3/5,mix7=6/2/4/4" \
  timeout $LEFT bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r1.tar.gz -C /tmp r1
tail -4 $R/test_cuda_gpu.txt; tail -4 $R/pytest_gpu.txt
cut -c1-260 $R/setup_cost_running.txt | tail -5
grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b8.txt | cut -c1-170 | tail -40
