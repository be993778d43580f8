#!/bin/bash
# Stages what the H100 runs need into an ignored folder of the repo, for the device tool's carry
# (the approach of bench/cuda/stage_devcarry.sh):
#   cmake -S . -B build-h100-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DECLIP_WERROR=ON \
#         -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
#   cmake --build build-h100-rel --target eclip_c eclip_cli test_energy test_energy_c_abi
#   tools/h100_colocation/stage.sh build-h100-rel .devcarry/colo
# then on the H100: bash tools/h100_colocation/run_h100.sh <phase> (outputs under $OUT).
# libfmt.so.9 travels along: the H100 image (Ubuntu 24.04) has no libfmt.
set -euo pipefail
build=${1:?build dir}
dest=${2:?destination}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dest"
cp -L "$build"/src/c_api/libeclip_c.so.0 "$dest"/
cp "$build"/eclip "$build"/tests/energy/test_energy "$build"/tests/energy/test_energy_c_abi "$dest"/
cp -L "$(ldconfig -p | awk '/libfmt.so.9 /{print $NF; exit}')" "$dest"/libfmt.so.9
git -C "$repo" rev-parse HEAD > "$dest"/COMMIT
strip "$dest"/eclip "$dest"/test_energy "$dest"/test_energy_c_abi "$dest"/libeclip_c.so.0
echo "staged $(du -sh "$dest" | cut -f1) in $dest (commit $(git -C "$repo" rev-parse --short HEAD))"
