#!/bin/bash
# Stages what run_h100.sh needs into an ignored folder of the repo (the device tool's carry):
#   cmake -S . -B build-transparent-h100 -G Ninja -DCMAKE_BUILD_TYPE=Release -DECLIP_WITH_HIP=OFF \
#         -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
#   cmake --build build-transparent-h100 --target eclip_preload_cuda eclip_c eclip_cli eclip_launch_loop eclip_context_handoff
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
# Baseline (every kernel on the whole device) and Model-wise plans of the same workers, from the
# library's planner (eclip.Plan.make over the profile `eclip plan` used), on the simulated H100.
plan_like() {  # plan_like <profile> <eclip plan> <strategy> <out>
  PYTHONPATH="$repo"/python ECLIP_LIBRARY="$build"/src/c_api/libeclip_c.so python3 - "$@" <<'PY'
import json, sys
import eclip
profile_path, eclip_plan, strategy, out = sys.argv[1:]
models = [w["model"] for w in json.load(open(eclip_plan))["workers"]]
with eclip.Backend("sim:h100") as be, eclip.Profile.from_file(profile_path) as prof, \
        eclip.Plan.make(be, prof, models, strategy) as plan:
    plan.write(out)
    for w in plan.to_dict()["workers"]:
        print("%s %s: %d groups" % (strategy, w["model"], len(w["groups"])))
PY
}
"$build"/eclip plan --device h100 --mix-file "$dest"/mix.json --tolerance 0.5 --budget unlimited \
  --save-profile "$dest"/profile_transparent.json -o /dev/null > /dev/null
plan_like "$dest"/profile_transparent.json "$dest"/plan_eclip.json baseline "$dest"/plan_baseline.json
# Co-location (issue 9 item 5): mixes of the graph-based harness (docs/results/h100-colocation-*),
# ECLIP at tolerance 0.25 (its best setting there) and Model-wise (the library's: disjoint partitions).
for mix in ${MIXES:-mix2 mix4 mix7}; do
  "$build"/eclip plan --device h100 --mix $mix --tolerance 0.25 -o "$dest"/plan_${mix}_eclip.json \
    --save-profile "$dest"/profile_${mix}.json | tee "$dest"/plan_${mix}_eclip.txt
  plan_like "$dest"/profile_${mix}.json "$dest"/plan_${mix}_eclip.json model-wise "$dest"/plan_${mix}_modelwise.json
done
# The eclip package and libeclip_c, for colocate.py's energy window (eclip.EnergyMeter over NVML) and
# smoke.py's transparent-mode calls (eclip.preload).
cp -r "$repo"/python/eclip "$dest"/
cp -L "$build"/src/c_api/libeclip_c.so.0 "$dest"/
cp "$repo"/tools/transparent_h100/colocate.py "$dest"/
cp "$repo"/tools/transparent_h100/smoke.py "$repo"/tools/transparent_h100/run_h100.sh "$dest"/
git -C "$repo" rev-parse HEAD > "$dest"/COMMIT
echo "staged $(du -sh "$dest" | cut -f1) in $dest (commit $(git -C "$repo" rev-parse --short HEAD))"
