#!/bin/bash
# Usage: staged by bench/cuda/stage_devcarry.sh; on the H100: bash .devcarry/cuda/run_h100.sh
# Runs the CUDA backend's H100 tests, sanitizers, ctypes/torch check and benchmark; outputs to $OUT.
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=$PWD:$LD_LIBRARY_PATH
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
{
  date -u; uname -a; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  nvidia-smi | head -15; cat /etc/os-release | head -2; "$SAN" --version | tail -1
} > $OUT/env.txt 2>&1
(time ./test_cuda_host) > $OUT/host_tests.txt 2>&1; echo "rc=$?" >> $OUT/host_tests.txt
(time ./test_cuda_gpu -d yes) > $OUT/gpu_tests.txt 2>&1; echo "rc=$?" >> $OUT/gpu_tests.txt
./test_cuda_c_abi_smoke >> $OUT/host_tests.txt 2>&1; echo "c smoke rc=$?" >> $OUT/host_tests.txt
{
  for tool in racecheck synccheck memcheck; do
    echo "=== compute-sanitizer --tool $tool"
    (time timeout 200 "$SAN" --tool $tool --error-exitcode 3 ./test_cuda_gpu "ordering: small chain for compute-sanitizer") 2>&1 | tail -12
    echo "rc=${PIPESTATUS[0]}"
  done
} > $OUT/sanitizer.txt 2>&1
(PYTHONUNBUFFERED=1 timeout 240 python3 c_abi_torch.py ./libeclip_c.so.0) > $OUT/ctypes_torch.txt 2>&1; echo "rc=$?" >> $OUT/ctypes_torch.txt
(time ./eclip_cuda_bench ${BENCH_ARGS:-} --json $OUT/bench.json) > $OUT/bench.txt 2>&1; echo "rc=$?" >> $OUT/bench.txt
tail -3 $OUT/host_tests.txt; grep -E "test cases|rc=" $OUT/gpu_tests.txt; grep rc= $OUT/sanitizer.txt; tail -2 $OUT/ctypes_torch.txt; tail -4 $OUT/bench.txt
