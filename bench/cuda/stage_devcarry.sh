#!/bin/bash
# Stages what the H100 run needs into an ignored folder of the repo, for the device tool's carry:
#   cmake -S . -B build-cuda-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DECLIP_WERROR=ON \
#         -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
#   cmake --build build-cuda-rel --target test_cuda_host test_cuda_gpu test_cuda_c_abi_smoke eclip_cuda_bench eclip_c
#   bench/cuda/stage_devcarry.sh build-cuda-rel .devcarry/cuda
# then on the H100: bash .devcarry/cuda/run_h100.sh (outputs under $OUT).
# libfmt.so.9 travels along: the H100 image (Ubuntu 24.04) has no libfmt.
set -euo pipefail
build=${1:?build dir}
dest=${2:?destination}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$dest"
cp "$build"/tests/backend/cuda/test_cuda_host "$build"/tests/backend/cuda/test_cuda_gpu \
   "$build"/tests/backend/cuda/test_cuda_c_abi_smoke "$build"/bench/cuda/eclip_cuda_bench "$dest"/
cp -L "$build"/src/c_api/libeclip_c.so.0 "$dest"/
cp -L "$(ldconfig -p | awk '/libfmt.so.9 /{print $NF; exit}')" "$dest"/libfmt.so.9
strip "$dest"/test_cuda_* "$dest"/eclip_cuda_bench "$dest"/libeclip_c.so.0
cp "$repo"/tests/backend/cuda/c_abi_torch.py "$here"/run_h100.sh "$dest"/
echo "staged $(du -sh "$dest" | cut -f1) in $dest (commit $(git -C "$repo" rev-parse --short HEAD))"
