#!/bin/bash
# Issue 13's re-check on the H200, from the repository root on the device (outputs under $OUT):
#   bash tools/h200_recheck/run.sh .devcarry/h200 check   GPU tests, compute-sanitizer, the package's
#        pytest suite (GPU tests included), transparent mode (bit-identity, kernel-by-kernel placement,
#        per-launch overhead) on the unmodified PyTorch script
#   bash tools/h200_recheck/run.sh .devcarry/h200 colo    `eclip profile` for one mix's models, then that
#        mix co-located through the eclip package (tools/h200_colocation/colocate.py)
set -uo pipefail
S=$(cd "${1:?staged folder}" && pwd)
phase=${2:?phase: check or colo}
OUT=${OUT:-/tmp/h200_out}; mkdir -p "$OUT"
export LD_LIBRARY_PATH=$S${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export ECLIP_LIBRARY=$S/libeclip_c.so.0 PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
LOG=$OUT/$phase.log
T0=$(date +%s)
say() { echo "=== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
step() {  # step <name> <timeout_s> <command...>
  local name=$1 t=$2; shift 2
  say "$name: $*"
  timeout -k 5 "$t" "$@" >>"$LOG" 2>&1
  say "$name: rc=$?"
}
say "commit $(cat "$S/COMMIT") | $(nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv,noheader) | $(date -u +%FT%TZ)"
case $phase in
check)
  step test_cuda_host 120 "$S"/test_cuda_host
  step test_cuda_gpu 240 "$S"/test_cuda_gpu
  step test_cuda_c_abi_smoke 60 "$S"/test_cuda_c_abi_smoke
  step test_c_abi_cuda_gpu 120 "$S"/test_c_abi_cuda_gpu
  step cuda_colocation 60 "$S"/cuda_colocation
  step racecheck_c_abi 180 compute-sanitizer --tool racecheck --error-exitcode 1 "$S"/test_c_abi_cuda_gpu
  step pytest 240 python3 -m pytest -q -rs -p no:cacheprovider python/tests
  OUT=$OUT ONLY=identity,overhead BUDGET_S=${BUDGET_S:-200} bash "$S"/transparent/run_h100.sh "$S"/transparent
  for w in "0 resnet" "1 albert"; do
    set -- $w
    [ -f "$OUT/eclip_trace_$2.json.gz" ] && step check_trace_$2 60 python3 tools/transparent_h100/check_trace.py \
      --eclip "$OUT/eclip_trace_$2.json.gz" --profile "$OUT/prof_$2.json.gz" --worker $1
  done
  ;;
colo)
  MIX=${MIX:-mix1}
  "$S"/eclip plan --device h200 --workloads "$PWD"/workloads --mix $MIX -o /tmp/plan_mix.json > /dev/null || exit 1
  models=$(python3 -c 'import json,sys; print(",".join(w["model"] for w in json.load(open(sys.argv[1]))["workers"]))' /tmp/plan_mix.json)
  step profile ${PROFILE_S:-240} "$S"/eclip profile --out /tmp/profile --batches 1 --models "$models"
  step colocate ${COLO_S:-300} python3 tools/h200_colocation/colocate.py --mix $MIX --models "$models" \
    --profile /tmp/profile/profile_b1.json --batch 1 --reps ${REPS:-2} --window ${WINDOW:-3} --warmup 1 --alone-s 2 \
    --strategies ${STRATEGIES:-baseline,model-wise,kernel-wise,eclip} --out "$OUT/colocate"
  cp /tmp/profile/profile_b1.json "$OUT"/ 2>/dev/null
  ;;
esac
say "done"
