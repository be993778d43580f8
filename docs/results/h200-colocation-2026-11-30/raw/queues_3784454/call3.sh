C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation LD_LIBRARY_PATH=$C ECLIP_LIBRARY=$C/libeclip_c.so.0 PYTHONPATH=$C/python
mkdir -p /tmp/r3
unset CUDA_DEVICE_MAX_CONNECTIONS
{ echo "== C++ queue test, environment unset (the backend sets it after require_gpu's cuInit)"; timeout 60 $C/test_cuda_gpu "hardware queues*" 2>&1 | grep -E "hardware queues:|passed|failed|FAILED|started" | head -20
  echo "== C++ control: CUDA_DEVICE_MAX_CONNECTIONS=8"; CUDA_DEVICE_MAX_CONNECTIONS=8 timeout 60 $C/test_cuda_gpu "hardware queues*" 2>&1 | grep -E "hardware queues:|passed|failed|FAILED|started" | head -20
  echo "== C++ every case, unset"; timeout 120 $C/test_cuda_gpu 2>&1 | tail -3
  echo "== python: torch only, unset"; timeout 60 python3 $C/queues_probe.py none
  echo "== python: torch, is_available, then eclip.Backend, unset"; timeout 60 python3 $C/queues_probe.py backend
  echo "== python: torch only, CUDA_DEVICE_MAX_CONNECTIONS=32"; CUDA_DEVICE_MAX_CONNECTIONS=32 timeout 60 python3 $C/queues_probe.py none
} > /tmp/r3/probe.txt 2>&1
cat /tmp/r3/probe.txt
R=/tmp/r3 BATCH=1 MIXES=mix1,mix2,mix3,mix4 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix2=4/5/4/3,mix3=5/4/3/4,mix4=3/5/4/4" timeout 470 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > /tmp/r3/date.txt
tar czf $OUT/r3.tar.gz -C /tmp r3
grep -h "== sweep\|rep[01] mix\|tuned:\|rror" /tmp/r3/log_sweep_b1.txt | cut -c1-200 | tail -70
