C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
P="--static-best mix2=4/5/4/3,mix5=4/4/5/3,mix7=5/4/3/4"
for conn in default 32; do
  export R=/tmp/r_$conn
  if [ $conn = 32 ]; then export CUDA_DEVICE_MAX_CONNECTIONS=32; else unset CUDA_DEVICE_MAX_CONNECTIONS; fi
  echo "CUDA_DEVICE_MAX_CONNECTIONS=${CUDA_DEVICE_MAX_CONNECTIONS:-unset}" > /tmp/conn_$conn.txt
  BATCH=1 MIXES=mix7,mix5,mix2 WINDOW=0.8 WARMUP=0.25 PROFILE=$C/profile/profile_b1_energy.json SWEEP_ARGS="$P" \
    STRATEGIES=baseline,static-equal,kernel-wise,eclip-budget,static-best,eclip timeout 265 bash $S/run_h200.sh sweep > /dev/null 2>&1
  cp /tmp/conn_$conn.txt $R/
done
date -u > /tmp/r_default/date.txt
tar czf $OUT/r.tar.gz -C /tmp r_default r_32
grep -h "rep[01] mix" /tmp/r_default/log_sweep_b1.txt /tmp/r_32/log_sweep_b1.txt
