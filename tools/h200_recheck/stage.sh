#!/bin/bash
# Stages the re-check of issue 13 on the H200 into an ignored folder (the device tool's carry):
#   cmake -S . -B build/h200 -G Ninja -DECLIP_WERROR=ON -DECLIP_WITH_HIP=OFF \
#         -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
#   cmake --build build/h200 --target eclip_c eclip_cli eclip_preload_cuda test_cuda_host test_cuda_gpu \
#         test_cuda_c_abi_smoke test_c_abi_cuda_gpu cuda_colocation eclip_launch_loop eclip_context_handoff
#   tools/h200_recheck/stage.sh build/h200 .devcarry/h200
# then on the device, from the repository root: bash tools/h200_recheck/run.sh .devcarry/h200 <phase>
# HIP is off: a libeclip_c built with the HIP backend links libamdhip64, which the NVIDIA machine lacks.
set -euo pipefail
build=${1:?build dir}
dest=${2:?destination}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dest"
cp "$build"/tests/backend/cuda/test_cuda_host "$build"/tests/backend/cuda/test_cuda_gpu \
   "$build"/tests/backend/cuda/test_cuda_c_abi_smoke "$build"/tests/c_api/test_c_abi_cuda_gpu \
   "$build"/examples/cuda_colocation/cuda_colocation "$build"/eclip "$dest"/
cp -L "$build"/src/c_api/libeclip_c.so.0 "$dest"/
ln -sf libeclip_c.so.0 "$dest"/libeclip_c.so
cp -L "$(ldconfig -p | awk '/libfmt.so.9 /{print $NF; exit}')" "$dest"/libfmt.so.9  # the device image has no libfmt
strip "$dest"/test_cuda_* "$dest"/test_c_abi_cuda_gpu "$dest"/cuda_colocation "$dest"/eclip "$dest"/libeclip_c.so.0
# Transparent mode: the interposer, the launch loop, plans for resnet152 (worker 0) + albert (worker 1).
t="$dest"/transparent
mkdir -p "$t"
cp -L "$build"/src/preload/libeclip_preload_cuda.so "$build"/bench/cuda/eclip_launch_loop \
  "$build"/bench/cuda/eclip_context_handoff "$t"/
strip "$t"/libeclip_preload_cuda.so "$t"/eclip_launch_loop "$t"/eclip_context_handoff
cp -L /usr/local/cuda/lib64/libcudart.so.13 "$t"/
cat > "$t"/mix.json <<'MIX'
{"format": "eclip.mix", "version": 1, "mixes": [{"name": "transparent", "models": ["resnet152", "albert"]}]}
MIX
# tolerance 0.5, unlimited budget: both workers get partitions and many switches (a stress of ordering).
"$build"/eclip plan --device h200 --mix-file "$t"/mix.json --tolerance 0.5 --budget unlimited \
  --save-profile "$t"/profile.json -o "$t"/plan_eclip.json | tee "$t"/plan_eclip.txt
PYTHONPATH="$repo"/python ECLIP_LIBRARY="$dest"/libeclip_c.so.0 python3 - "$t" <<'PY'
import json, sys
import eclip
t = sys.argv[1]
models = [w["model"] for w in json.load(open(f"{t}/plan_eclip.json"))["workers"]]
with eclip.Backend("sim:h200") as be, eclip.Profile.from_file(f"{t}/profile.json") as prof, \
        eclip.Plan.make(be, prof, models, "baseline") as plan:
    plan.write(f"{t}/plan_baseline.json")
PY
cp "$repo"/tools/transparent_h100/smoke.py "$repo"/tools/transparent_h100/run_h100.sh "$t"/
git -C "$repo" rev-parse HEAD > "$t"/COMMIT
git -C "$repo" rev-parse HEAD > "$dest"/COMMIT
echo "staged $(du -sh "$dest" | cut -f1) in $dest (commit $(git -C "$repo" rev-parse --short HEAD))"
