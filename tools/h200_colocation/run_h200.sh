#!/bin/bash
# Issue #14's measurements on the H200, from the repository root on the device. Needs Python 3 with
# torch (CUDA), torchvision, transformers, nvidia-ml-py; libeclip_c built with the CUDA backend.
#   bash tools/h200_colocation/run_h200.sh profile     every model at every partition size (1..16 atoms),
#                                                       batches $BATCHES (default 1,8) -> $R/profile
#   bash tools/h200_colocation/run_h200.sh calibrate   Baseline and $CALIB static splits per mix, once each:
#                                                       the co-runs the contention model is fitted from
#   bash tools/h200_colocation/run_h200.sh sweep       every strategy ($STRATEGIES: sweep.py's default list) on
#                                                       $MIXES at $BATCH (sweep.py; $SWEEP_ARGS: more of its options)
#   bash tools/h200_colocation/run_h200.sh mps         MPS 25 % and 50 % on $MIXES at $BATCH (mps.py)
#   bash tools/h200_colocation/run_h200.sh online      one live co-location through the mixes $MIXES (default
#                                                       mix1,mix3,mix1), re-planned at each change (online.py)
#   bash tools/h200_colocation/run_h200.sh tests       the GPU tests before measuring: the CUDA backend's
#                                                       (test_cuda_gpu, when staged beside LIB) and the
#                                                       Python package's (python/tests/test_torch_gpu.py)
# R: results folder (default /tmp/h200_out). LIB: libeclip_c (default build/h200's); its folder is
# put on LD_LIBRARY_PATH (the device image has no libfmt: stage it beside the library).
set -uo pipefail
phase=${1:?phase: profile, calibrate, sweep, mps, online or tests}
cd "$(dirname "$0")/../.."
LIB=${LIB:-$PWD/build/h200/src/c_api/libeclip_c.so}
export ECLIP_LIBRARY=$LIB LD_LIBRARY_PATH=$(dirname "$LIB")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
# 32 hardware queues per context, not the driver's 8: with 8, streams share queues and a worker's
# kernels wait behind another's (docs/hardware.md, "Hardware work queues"). The library sets it too,
# but only where it starts the driver before anything else in the process does.
# QUEUES=library: leave it unset, so that the library's own setting is what runs (to check it).
# MPS: the driver's 8 per client: four clients of 32 each are more than the MPS server takes
# ("Reached maximum number of device connections", the clients fail with "device busy or
# unavailable", H200, 2026-12-02); each MPS worker runs one stream, so more queues do nothing.
if [ "$phase" = mps ]; then
  export CUDA_DEVICE_MAX_CONNECTIONS=8
elif [ "${QUEUES:-}" = library ]; then
  unset CUDA_DEVICE_MAX_CONNECTIONS
else
  export CUDA_DEVICE_MAX_CONNECTIONS=${CUDA_DEVICE_MAX_CONNECTIONS:-32}
fi
R=${R:-/tmp/h200_out}
BATCH=${BATCH:-1}
MIXES=${MIXES:-all}
mkdir -p "$R"
exec > >(tee -a "$R/log_${phase}_b${BATCH}.txt") 2>&1
# The commit of the staged build (stage it as COMMIT beside the library: the device copy has no history).
echo "== $phase $(date -u +%FT%TZ) commit $(cat "$(dirname "$LIB")/COMMIT" 2>/dev/null || echo unknown)" \
  "CUDA_DEVICE_MAX_CONNECTIONS=${CUDA_DEVICE_MAX_CONNECTIONS:-unset (the library sets it)}"
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader
case $phase in
profile)
  python3 -m eclip.torch.profile --sizes all --out "$R/profile" --batches ${BATCHES:-1,8} --reps ${REPS:-10}
  ;;
calibrate)
  python3 tools/h200_colocation/sweep.py --batch $BATCH --profile "$R/profile/profile_b$BATCH.json" \
    --mixes $MIXES --calibrate ${CALIB:-5} --strategies baseline --reps 1 --window ${WINDOW:-1} \
    --warmup ${WARMUP:-0.3} --out "$R/calibrate"
  ;;
sweep)
  python3 tools/h200_colocation/sweep.py --batch $BATCH --profile "${PROFILE:-$R/profile/profile_b$BATCH.json}" \
    --mixes $MIXES --reps ${REPS:-2} --window ${WINDOW:-1} --warmup ${WARMUP:-0.3} \
    --tune-time ${TUNE_TIME:-40} ${SWEEP_ARGS:-} --static-max ${STATIC_MAX:-16} ${STRATEGIES:+--strategies $STRATEGIES} --out "$R/sweep"
  ;;
mps)
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  trap 'echo quit | nvidia-cuda-mps-control >/dev/null 2>&1' EXIT
  nvidia-cuda-mps-control -d && echo "MPS daemon started" || { echo "MPS daemon could not start"; exit 1; }
  python3 tools/h200_colocation/mps.py --batch $BATCH --mixes $([ "$MIXES" = all ] && echo mix1,mix2,mix3,mix4,mix5,mix6,mix7 || echo $MIXES) \
    --percentages ${PCTS:-25,50} --reps ${REPS:-2} --window ${WINDOW:-1} \
    --alone "$R/sweep/alone_b$BATCH.json" --out "$R/sweep"
  cp -r $CUDA_MPS_LOG_DIRECTORY "$R/mps_log_b$BATCH" 2>/dev/null
  ;;
online)
  python3 tools/h200_colocation/online.py --batch $BATCH --profile "${PROFILE:-$R/profile/profile_b$BATCH.json}" \
    --mixes $([ "$MIXES" = all ] && echo mix1,mix3,mix1 || echo $MIXES) --window ${WINDOW:-0.8} \
    --warmup ${WARMUP:-0.25} --tune-time ${TUNE_TIME:-40} --reps ${REPS:-2} --out "$R/online"
  ;;
tests)
  status=0
  if [ -x "$(dirname "$LIB")/test_cuda_gpu" ]; then
    "$(dirname "$LIB")/test_cuda_gpu" || status=1
  else
    echo "no test_cuda_gpu beside $LIB: the CUDA backend's GPU tests not run"
  fi
  (cd python && python3 -m pytest -q -p no:cacheprovider tests/test_torch_gpu.py) || status=1
  exit $status
  ;;
*) echo "unknown phase $phase"; exit 2 ;;
esac
