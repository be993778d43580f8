# call 3 (aadb2ea): MPS 25 % and 50 % at batch 8 again (call 1's failed: 32 queues per client), the
# clients at 8 queues, alone_b8.json from call 1's sweep; then the GPU tests.
T0=$SECONDS
C=$PWD/.devcarry/h200; export LIB=$C/libeclip_c.so.0 S=$C/tools/h200_colocation
R=/tmp/r3; mkdir -p $R/sweep; cp $C/alone_b8.json $R/sweep/
date -u > $R/date_start.txt
R=$R BATCH=8 REPS=2 WINDOW=0.8 timeout 150 bash $S/run_h200.sh mps > /dev/null 2>&1
(LD_LIBRARY_PATH=$C timeout 120 $C/test_cuda_gpu 2>&1 | tail -25) > $R/test_cuda_gpu.txt
(cd $C/python && ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$C PYTHONPATH=$C/python timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_torch_gpu.py 2>&1 | tail -15) > $R/pytest_gpu.txt
date -u > $R/date.txt
tar czf $OUT/r3.tar.gz -C /tmp r3
grep -h "mps-\|rror" $R/log_mps_b8.txt | cut -c1-120 | tail -30
tail -3 $R/test_cuda_gpu.txt; tail -3 $R/pytest_gpu.txt
echo "wall $((SECONDS - T0)) s"
