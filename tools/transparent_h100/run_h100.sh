#!/bin/bash
# Transparent-mode smoke test on the H100 (docs/results/h100-transparent-2026-11-25).
#   tools/transparent_h100/stage.sh <build> .devcarry/transparent   (here)
#   bash tools/transparent_h100/run_h100.sh .devcarry/transparent     (there; writes $OUT/log.txt)
# Every stage runs under `timeout` and the script goes on when one fails.
S=${1:-.devcarry/transparent}
S=$(cd "$S" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LOG=$OUT/log.txt
export PYTHONUNBUFFERED=1
PY=tools/transparent_h100/smoke.py
T0=$(date +%s)
say() { echo "=== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
stage() {  # stage <name> <timeout_s> <env...> -- <args...>
  local name=$1 t=$2; shift 2
  if [ $(( $(date +%s) - T0 )) -gt ${BUDGET_S:-135} ]; then say "stage $name: skipped (time)"; return; fi
  local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  say "stage $name: env ${envs[*]} python3 $PY $*"
  env "${envs[@]}" timeout -k 5 "$t" python3 "$PY" "$@" >>"$LOG" 2>&1
  say "stage $name: rc=$?"
}
say "commit $(cat "$S/COMMIT") | $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
nvidia-smi -L >>"$LOG" 2>&1
ldd "$S/libeclip_preload_cuda.so" >>"$LOG" 2>&1
P=$S/libeclip_preload_cuda.so
# resnet152 reference (no preload), routed by the two-worker ECLIP plan (worker 0, + profiler),
# albert reference and routed (worker 1), resnet152 under a whole-device plan (interposer cost only).
# A stage that would start after BUDGET_S (135 s) is skipped.
stage ref-resnet152 30 A=1 -- --model resnet152 --save /tmp/ref_resnet.pt
stage eclip-resnet152 35 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json ECLIP_WORKER=0 ECLIP_STATS=1 ECLIP_VERBOSE=1 \
  SMOKE_TRACE=/tmp/trace_resnet.json -- --model resnet152 --check /tmp/ref_resnet.pt --profile
stage ref-albert 30 A=1 -- --model albert --iters 20 --save /tmp/ref_albert.pt
stage eclip-albert 30 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json ECLIP_WORKER=1 ECLIP_STATS=1 ECLIP_VERBOSE=1 \
  -- --model albert --iters 20 --check /tmp/ref_albert.pt
stage baseline-resnet152 25 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_baseline.json ECLIP_WORKER=0 ECLIP_STATS=1 ECLIP_VERBOSE=1 \
  -- --model resnet152 --check /tmp/ref_resnet.pt
gzip -c /tmp/trace_resnet.json > "$OUT/trace_resnet_eclip.json.gz" 2>/dev/null
say "done"
