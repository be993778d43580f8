#!/bin/bash
# The H100 co-location runs, from the repository root on the H100 (binaries staged by stage.sh into
# .devcarry/colo). Everything goes to /tmp/colo and is packed into $OUT/<phase>.tar.gz at the end
# (the device tool returns at most 8 files).
#   bash tools/h100_colocation/run_h100.sh calib      env, EnergyMeter tests, power vs SMs, profile b1+b8,
#                                                     ECLIP plans, a short in-process + MPS smoke run
#   bash tools/h100_colocation/run_h100.sh inproc     every mix x in-process strategy, REPS x WINDOW s
#   bash tools/h100_colocation/run_h100.sh mps        every mix under MPS percentages (daemon started
#                                                     here and always stopped), then request traces
# Inputs of inproc/mps: PROFILE_DIR (profile_b1.json, eclip_mix*.json; default the committed results).
# inproc also reads PLANS_DIR (ECLIP plans <strategy>_<mix>.json, default PROFILE_DIR), STRATEGIES,
# MIX_STRATEGIES, CAPTURE_CONTEXT (green, the default since run 4, or primary), MIXES, REPS, WINDOW,
# ALONE_S, IDLE_S, TIMEOUT.
set -uo pipefail
phase=${1:?phase: calib, inproc or mps}
cd "$(dirname "$0")/../.."
D=.devcarry/colo
T=tools/h100_colocation
export LD_LIBRARY_PATH=$PWD/$D:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
LIB=$D/libeclip_c.so.0
R=/tmp/colo/$phase
mkdir -p "$R"
OUTDIR=${OUT:-/tmp/colo_out}
mkdir -p "$OUTDIR"
pack() { tar czf "$OUTDIR/$phase.tar.gz" -C /tmp/colo "$phase"; cp "$R/log.txt" "$OUTDIR/log_$phase.txt" 2>/dev/null; }
mps_stop() { echo quit | nvidia-cuda-mps-control >/dev/null 2>&1; }
trap 'mps_stop; pack' EXIT
exec > >(tee -a "$R/log.txt") 2>&1

gpu_state() { nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw,power.limit --format=csv,noheader; }
{
  date -u; uname -a; gpu_state; nvidia-smi | head -15
  python3 -c 'import torch, torchvision, transformers, sys; print(sys.version.split()[0], torch.__version__, torchvision.__version__, transformers.__version__, torch.backends.cudnn.version())'
  git log -1 --format='%H %s' 2>/dev/null || echo "commit: $(cat $D/COMMIT 2>/dev/null)"
} > "$R/env.txt" 2>&1
cat "$R/env.txt"
PD=${PROFILE_DIR:-$(ls -d docs/results/h100-colocation-*/profile 2>/dev/null | tail -1)}

case $phase in
calib)
  echo "== EnergyMeter tests on the H100"
  timeout 60 $D/test_energy > "$R/test_energy.txt" 2>&1; echo "test_energy rc=$?"; tail -3 "$R/test_energy.txt"
  timeout 60 $D/test_energy_c_abi -s "C ABI energy: bad specs, and NVML's availability" > "$R/test_energy_c_abi.txt" 2>&1
  echo "test_energy_c_abi rc=$?"; tail -3 "$R/test_energy_c_abi.txt"
  echo "== power vs SMs"; gpu_state
  timeout 90 python3 $T/harness.py power --lib $LIB --out "$R/power.json" --idle-s 3 --seconds 2.5
  echo "== profile"; gpu_state
  timeout 240 python3 $T/profile_groups.py --lib $LIB --out "$R/profile" --batches 1,8 --reps ${REPS_PROFILE:-10}
  for m in 1 2 3 4 5 6 7; do
    $D/eclip plan --device h100 --profile "$R/profile/profile_b1.json" --mix mix$m --budget 14 \
      -o "$R/profile/eclip_mix$m.json" > "$R/profile/eclip_mix$m.txt" 2>&1 || echo "eclip plan mix$m failed"
  done
  cat "$R"/profile/eclip_mix1.txt
  echo "== in-process smoke (mix1)"; gpu_state
  timeout 120 python3 $T/harness.py inproc --lib $LIB --profile "$R/profile/profile_b1.json" --plans "$R/profile" \
    --mixes mix1 --reps 1 --window 1.5 --alone-s 1 --idle-s 1 --trace mix1 --out "$R/smoke_inproc.json"
  echo "== MPS smoke (mix1, 25%)"; gpu_state
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  nvidia-cuda-mps-control -d && echo "MPS daemon started"
  timeout 100 python3 $T/harness.py mps --lib $LIB --mixes mix1 --percentages 25 --reps 1 --window 1.5 --idle-s 1 \
    --out "$R/smoke_mps.json"
  mps_stop; echo "MPS daemon stopped"; cp -r /tmp/mps_log "$R/mps_log" 2>/dev/null
  gpu_state
  ;;
inproc)
  echo "profile dir: $PD"; gpu_state
  if [ -n "${DIAG:-}" ]; then
    echo "== diagnostic: graphs captured per placement on long-lived streams, launched on the router's (shared)"
    timeout 90 python3 $T/harness.py inproc --lib $LIB --profile "$PD/profile_b1.json" --plans "$PD" --mixes mix1 \
      --strategies baseline,model-wise,model-wise-overlap,eclip --capture shared --reps 1 --window 1.5 --alone-s 0 \
      --idle-s 1 --out "$R/diag_shared.json"
  fi
  timeout ${TIMEOUT:-540} python3 $T/harness.py inproc --lib $LIB --profile "$PD/profile_b${BATCH:-1}.json" \
    --plans "${PLANS_DIR:-$PD}" --mixes ${MIXES:-all} --reps ${REPS:-2} --window ${WINDOW:-4} --alone-s ${ALONE_S:-2} \
    --idle-s ${IDLE_S:-3} --batch ${BATCH:-1} --trace "${TRACE:-}" --capture-context ${CAPTURE_CONTEXT:-green} \
    --strategies ${STRATEGIES:-baseline,model-wise,model-wise-overlap,kernel-wise,eclip} \
    --mix-strategies "${MIX_STRATEGIES:-}" --out "$R/colo_inproc.json"
  gpu_state
  ;;
mps)
  echo "profile dir: $PD"; gpu_state
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  nvidia-cuda-mps-control -d && echo "MPS daemon started"
  timeout ${TIMEOUT_MPS:-400} python3 $T/harness.py mps --lib $LIB --mixes ${MIXES:-all} --percentages ${PCTS:-25,50} \
    --reps ${REPS:-2} --window ${WINDOW:-4} --idle-s 3 --batch ${BATCH:-1} --out "$R/colo_mps.json"
  mps_stop; echo "MPS daemon stopped"; cp -r /tmp/mps_log "$R/mps_log" 2>/dev/null
  if [ -n "${TRACE:-}" ]; then
    timeout ${TIMEOUT_TRACE:-120} python3 $T/harness.py inproc --lib $LIB --profile "$PD/profile_b1.json" --plans "$PD" \
      --mixes "$TRACE" --strategies baseline,eclip --reps 1 --window 1 --alone-s 0 --idle-s 1 --trace all \
      --trace-worker ${TRACE_WORKER:-0} --out "$R/traces.json"
  fi
  gpu_state
  ;;
*) echo "unknown phase $phase"; exit 2 ;;
esac
