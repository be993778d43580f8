C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r4; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
(cd $C/python && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_torch_gpu.py -k "cached or switch" 2>&1 | tail -5) > $R/pytest_gpu.txt
QUEUES=library R=$R BATCH=8 MIXES=all WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b8_energy.json \
  STRATEGIES=baseline,static-best,eclip-tuned \
  SWEEP_ARGS="--static-best mix1=4/4/5/3,mix2=4/5/3/4,mix3=5/4/3/4,mix4=3/5/5/3,mix5=4/5/4/3,mix6=4/4/3/5,mix7=6/2/4/4" timeout 480 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt
tar czf $OUT/r4.tar.gz -C /tmp r4
cat $R/pytest_gpu.txt; grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror\|done in" $R/log_sweep_b8.txt | cut -c1-150 | tail -60
