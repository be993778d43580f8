C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r1; mkdir -p $R; unset CUDA_DEVICE_MAX_CONNECTIONS
ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python python3 -c "
import os
from eclip.torch import require_torch
t = require_torch()
print('CUDA_DEVICE_MAX_CONNECTIONS after require_torch:', os.environ.get('CUDA_DEVICE_MAX_CONNECTIONS'))" > $R/probe.txt 2>&1
QUEUES=library R=$R BATCH=1 MIXES=mix1,mix2,mix3 WINDOW=0.8 WARMUP=0.25 TUNE_TIME=40 PROFILE=$C/profile/profile_b1_energy.json \
  STRATEGIES=baseline,kernel-wise,static-best,eclip-tuned,eclip-tuned-plan-starts \
  SWEEP_ARGS="--static-best mix1=3/4/5/4,mix2=4/5/4/3,mix3=5/4/3/4" timeout 530 bash $S/run_h200.sh sweep > /dev/null 2>&1
date -u > $R/date.txt; nvidia-smi > $R/nvidia-smi.txt 2>&1
tar czf $OUT/r1.tar.gz -C /tmp r1
cat $R/probe.txt; grep -h "== sweep\|rep[01] mix\|eclip-tuned.*:\|rror" $R/log_sweep_b1.txt | cut -c1-150 | tail -60
