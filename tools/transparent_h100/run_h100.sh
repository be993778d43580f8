#!/bin/bash
# Transparent mode on the H100 (docs/results/h100-transparent-2026-11-25, run 2).
#   tools/transparent_h100/stage.sh <build> .devcarry/transparent   (here)
#   bash tools/transparent_h100/run_h100.sh .devcarry/transparent     (there; writes $OUT)
# Stages, each under `timeout`; the script goes on when one fails and skips a stage that would
# start after BUDGET_S seconds:
#   diag       which launch entry points PyTorch's libraries import (nm -D); context_handoff (what
#              handing dependent kernels between primary- and green-context streams costs)
#   identity   resnet152 and albert without / with the interposer (ECLIP plan, ECLIP_TRACE,
#              torch.profiler): outputs bit for bit; check_trace.py runs here afterwards
#   overhead   launch_loop (a plain CUDA program) and eager PyTorch (tiny adds + resnet152), each
#              alternating: no preload / preload without plan / whole-device plan / ECLIP plan
#              (/ launch_loop: a kernel the plan does not name)
#   colo       each of COLO_MIXES (default mix2) co-located in transparent mode: one process,
#              4 threads (no MPS, THREAD_REPS rounds; 0 = none); 4 processes without MPS (Baseline
#              only; NOMPS=0 skips); REPS alternating rounds of 4 processes under MPS: Baseline
#              (no preload), ECLIP (tol 0.25), Model-wise, MPS 25%
# ONLY=stage1,stage2 runs a subset.
S=${1:-.devcarry/transparent}
S=$(cd "$S" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LOG=$OUT/log.txt
export PYTHONUNBUFFERED=1
export ECLIP_LIBRARY=$S/libeclip_c.so.0  # the eclip package staged beside the scripts finds it here
T=$S
P=$S/libeclip_preload_cuda.so
T0=$(date +%s)
say() { echo "=== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
late() { [ $(( $(date +%s) - T0 )) -gt ${BUDGET_S:-540} ]; }
run() {  # run <name> <timeout_s> <env...> -- <command...>
  local name=$1 t=$2; shift 2
  if late; then say "$name: skipped (time)"; return; fi
  local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  say "$name: env ${envs[*]} $*"
  env "${envs[@]}" timeout -k 5 "$t" "$@" >>"$LOG" 2>&1
  say "$name: rc=$?"
}
mps_stop() { echo quit | nvidia-cuda-mps-control >/dev/null 2>&1; }
trap mps_stop EXIT

say "commit $(cat "$S/COMMIT") | $(nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv,noheader)"
SMOKE="python3 $T/smoke.py"

if want diag; then
  TL=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  {
    echo "--- torch lib: $TL"; ls "$TL" | head -40
    echo "--- launch symbols libtorch_cuda.so imports (nm -D --with-symbol-versions)"
    nm -D --with-symbol-versions "$TL/libtorch_cuda.so" | grep -E ' U .*(aunch|GetProcAddress|DriverEntryPoint)' | head
    for f in $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(r, x) for p in nvidia.__path__ for r, _, fs in os.walk(p) for x in fs if x.startswith(("libcudnn.so", "libcudnn_engines", "libcublasLt.so", "libcudart.so"))))'); do
      echo "--- $f: $(nm -D --with-symbol-versions "$f" 2>/dev/null | grep -cE ' U .*cudaLaunch') imported cudaLaunch*, $(nm -D "$f" 2>/dev/null | grep -cE ' T .*__cudaLaunchKernel') exported __cudaLaunchKernel"
    done
  } >>"$LOG" 2>&1
  run context_handoff 60 LD_LIBRARY_PATH=$S -- $S/eclip_context_handoff 4000 5000
  run context_handoff-empty 60 LD_LIBRARY_PATH=$S -- $S/eclip_context_handoff 4000 0
fi

if want identity; then
  run ref-resnet152 40 A=1 -- $SMOKE --model resnet152 --save /tmp/ref_resnet.pt
  run eclip-resnet152 60 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json ECLIP_WORKER=0 ECLIP_STATS=1 ECLIP_VERBOSE=${VERBOSE:-1} \
    ECLIP_TRACE=/tmp/eclip_trace_resnet.json SMOKE_TRACE=/tmp/prof_resnet.json -- \
    $SMOKE --model resnet152 --check /tmp/ref_resnet.pt --profile
  run ref-albert 40 A=1 -- $SMOKE --model albert --iters 20 --save /tmp/ref_albert.pt
  run eclip-albert 60 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json ECLIP_WORKER=1 ECLIP_STATS=1 ECLIP_VERBOSE=1 \
    ECLIP_TRACE=/tmp/eclip_trace_albert.json SMOKE_TRACE=/tmp/prof_albert.json -- \
    $SMOKE --model albert --iters 20 --check /tmp/ref_albert.pt --profile
  run baseline-resnet152 40 LD_PRELOAD=$P ECLIP_PLAN=$S/plan_baseline.json ECLIP_WORKER=0 ECLIP_STATS=1 -- \
    $SMOKE --model resnet152 --check /tmp/ref_resnet.pt
  for f in /tmp/eclip_trace_resnet.json /tmp/eclip_trace_albert.json /tmp/prof_resnet.json /tmp/prof_albert.json; do
    [ -f "$f" ] && gzip -c "$f" > "$OUT/$(basename "$f").gz"
  done
fi

# name | env for the preloaded configurations (worker 0 = resnet152's plan positions). launch_loop's
# one kernel is not in resnet152's plan: its routed configurations match by position
# (ECLIP_MATCH=position); "unmatched" times the name path for a kernel the plan does not name.
LOOP_CONFIGS=("none|A=1" "passthrough|LD_PRELOAD=$P"
  "whole-device|LD_PRELOAD=$P ECLIP_PLAN=$S/plan_baseline.json ECLIP_MATCH=position"
  "eclip|LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json ECLIP_MATCH=position"
  "unmatched|LD_PRELOAD=$P ECLIP_PLAN=$S/plan_baseline.json")
TORCH_CONFIGS=("none|A=1" "passthrough|LD_PRELOAD=$P" "whole-device|LD_PRELOAD=$P ECLIP_PLAN=$S/plan_baseline.json"
  "eclip|LD_PRELOAD=$P ECLIP_PLAN=$S/plan_eclip.json")
if want overhead; then
  for r in $(seq 1 ${LOOP_ROUNDS:-6}); do
    for c in "${LOOP_CONFIGS[@]}"; do
      run "launch_loop-$r-${c%%|*}" 30 LD_LIBRARY_PATH=$S ECLIP_WORKER=0 ECLIP_STATS=1 ${c#*|} -- $S/eclip_launch_loop 20000 7
    done
  done
  for r in $(seq 1 ${TORCH_ROUNDS:-1}); do
    for c in "${TORCH_CONFIGS[@]}"; do
      run "torch-$r-${c%%|*}" 45 ECLIP_WORKER=0 ${c#*|} -- $SMOKE --model resnet152 --iters 20 --warmup 3 --microbench 20000
    done
  done
fi

# COLO_MIXES (default mix2): each needs plan_<mix>_eclip.json / plan_<mix>_modelwise.json (stage.sh).
models_of() { python3 -c 'import json,sys; print(",".join(w["model"] for w in json.load(open(sys.argv[1]))["workers"]))' "$1"; }
colo_env() { echo "--env LD_PRELOAD=$P --env ECLIP_PLAN=$S/plan_$1_$2.json --env ECLIP_STATS=1"; }
if want colo; then
  for mix in ${COLO_MIXES:-mix2}; do
    COLO="python3 $T/colocate.py run --models $(models_of $S/plan_${mix}_eclip.json) --seconds ${WINDOW:-5} --out $OUT/colo.jsonl"
    for r in $(seq 1 ${THREAD_REPS:-1}); do
      run $mix-threads-baseline-$r 90 A=1 -- $COLO --mode threads --config $mix/threads-baseline
      run $mix-threads-eclip-$r 90 A=1 -- $COLO --mode threads --config $mix/threads-eclip $(colo_env $mix eclip)
      run $mix-threads-modelwise-$r 90 A=1 -- $COLO --mode threads --config $mix/threads-modelwise $(colo_env $mix modelwise)
    done
    [ "${NOMPS:-1}" = 1 ] && run $mix-procs-nomps-baseline 90 A=1 -- $COLO --mode procs --config $mix/procs-nomps-baseline
  done
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  nvidia-cuda-mps-control -d && say "MPS daemon started"
  for mix in ${COLO_MIXES:-mix2}; do
    COLO="python3 $T/colocate.py run --models $(models_of $S/plan_${mix}_eclip.json) --seconds ${WINDOW:-5} --out $OUT/colo.jsonl"
    for r in $(seq 1 ${REPS:-2}); do
      run $mix-mps-baseline-$r 90 A=1 -- $COLO --mode procs --config $mix/mps-baseline
      run $mix-mps-eclip-$r 90 A=1 -- $COLO --mode procs --config $mix/mps-eclip $(colo_env $mix eclip)
      run $mix-mps-modelwise-$r 90 A=1 -- $COLO --mode procs --config $mix/mps-modelwise $(colo_env $mix modelwise)
      run $mix-mps-25-$r 90 A=1 -- $COLO --mode procs --config $mix/mps-25 --env CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=25
    done
  done
  mps_stop; say "MPS daemon stopped"; cp -r /tmp/mps_log "$OUT/mps_log" 2>/dev/null
fi
say "done"
