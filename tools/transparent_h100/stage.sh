#!/bin/bash
# Stages what run_h100.sh needs into an ignored folder of the repo (the device tool's carry):
#   cmake -S . -B build-transparent-h100 -G Ninja -DCMAKE_BUILD_TYPE=Release -DECLIP_WITH_HIP=OFF \
#         -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
#   cmake --build build-transparent-h100 --target eclip_preload_cuda eclip_cli eclip_launch_loop eclip_context_handoff
#   tools/transparent_h100/stage.sh build-transparent-h100 .devcarry/transparent
# The plans: a two-worker mix (resnet152 = worker 0, albert = worker 1) from the bundled H100
# workloads, ECLIP and Baseline (whole device) strategies.
set -euo pipefail
build=${1:?build dir}
dest=${2:?destination}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dest"
cp -L "$build"/src/preload/libeclip_preload_cuda.so "$build"/bench/cuda/eclip_launch_loop \
  "$build"/bench/cuda/eclip_context_handoff "$dest"/
strip "$dest"/libeclip_preload_cuda.so "$dest"/eclip_launch_loop "$dest"/eclip_context_handoff
# launch_loop's runtime (the device has PyTorch's copy in site-packages, not on the loader path).
cp -L /usr/local/cuda/lib64/libcudart.so.13 "$dest"/
cat > "$dest"/mix.json <<'MIX'
{"format": "eclip.mix", "version": 1, "mixes": [{"name": "transparent", "models": ["resnet152", "albert"]}]}
MIX
# tolerance 0.5, unlimited budget: both workers get a 64-SM partition and many switches (stress).
"$build"/eclip plan --device h100 --mix-file "$dest"/mix.json --tolerance 0.5 --budget unlimited \
  -o "$dest"/plan_eclip.json | tee "$dest"/plan_eclip.txt
# Baseline: the same workers, every kernel on the whole device, no pool (eclip plan has no strategy flag).
python3 - "$dest"/plan_eclip.json "$dest"/plan_baseline.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["strategy"], p["pool"] = "baseline", []
for w in p["workers"]:
    w["groups"] = [{"config": 16, "count": w["kernels"], "first": 0, "units": 132}]
    w["switches"] = 0
json.dump(p, open(sys.argv[2], "w"), indent=1)
for w in json.load(open(sys.argv[1]))["workers"]:
    routed = sum(g["count"] for g in w["groups"] if g["units"] != 132)
    print("%s: %d kernels, %d planned on partitions, %d groups" % (w["model"], w["kernels"], routed, len(w["groups"])))
PY
# Co-location (issue 9 item 5): mixes of the graph-based harness (docs/results/h100-colocation-*),
# ECLIP at tolerance 0.25 (its best setting there) and Model-wise (32 SMs per worker, disjoint).
for mix in ${MIXES:-mix2 mix4 mix7}; do
  "$build"/eclip plan --device h100 --mix $mix --tolerance 0.25 -o "$dest"/plan_${mix}_eclip.json \
    | tee "$dest"/plan_${mix}_eclip.txt
  python3 - "$dest"/plan_${mix}_eclip.json "$dest"/plan_${mix}_modelwise.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["strategy"], p["switch_budget"] = "model-wise", 0
p["pool"] = [{"config": 4, "units": 32, "worker": i} for i in range(len(p["workers"]))]
for w in p["workers"]:
    w["groups"] = [{"config": 4, "count": w["kernels"], "first": 0, "units": 32}]
    w["switches"] = 0
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
done
cp "$repo"/tools/transparent_h100/colocate.py "$dest"/
cp "$repo"/tools/transparent_h100/smoke.py "$repo"/tools/transparent_h100/run_h100.sh "$dest"/
git -C "$repo" rev-parse HEAD > "$dest"/COMMIT
echo "staged $(du -sh "$dest" | cut -f1) in $dest (commit $(git -C "$repo" rev-parse --short HEAD))"
