C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation LD_LIBRARY_PATH=$C
mkdir -p /tmp/r2; cd /tmp/r2
unset CUDA_DEVICE_MAX_CONNECTIONS
( echo "== queue test, fresh process, environment unset"; timeout 60 $C/test_cuda_gpu "hardware queues*" -s 2>&1 | grep -E "hardware|passed|failed|FAILED|with expansion|started" | head -30
  echo "== control: CUDA_DEVICE_MAX_CONNECTIONS=8"; CUDA_DEVICE_MAX_CONNECTIONS=8 timeout 60 $C/test_cuda_gpu "hardware queues*" -s 2>&1 | grep -E "hardware|passed|failed|FAILED|started" | head -30
  echo "== every case"; timeout 150 $C/test_cuda_gpu 2>&1 | tail -15 ) > /tmp/r2/gpu_test.txt 2>&1
cat /tmp/r2/gpu_test.txt
cd $OLDPWD
R=/tmp/r2 BATCH=1 MIXES=mix7,mix5,mix6 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  SWEEP_ARGS="--static-best mix5=4/4/5/3,mix6=4/4/3/5,mix7=5/4/3/4 --static-best-slo mix6=2/3/8/3" \
  STRATEGIES=baseline,static-equal,kernel-wise,eclip-budget,eclip,static-best,static-best-slo,eclip-tuned timeout 380 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > /tmp/r2/date.txt
tar czf $OUT/r2.tar.gz -C /tmp r2
grep -h "rep[01] mix\|tuned\|error\|Error" /tmp/r2/log_sweep_b1.txt | tail -60
