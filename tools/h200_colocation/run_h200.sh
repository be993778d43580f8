#!/bin/bash
# Co-location on the NVIDIA GPU through the eclip package, from the repository root on the device.
# Needs: Python 3 with torch (CUDA), torchvision, transformers; a libeclip_c built with the CUDA
# backend (BUILD, default build/h200: cmake --build $BUILD --target eclip_c eclip_cli) carried along.
#   bash tools/h200_colocation/run_h200.sh profile      python3 -m eclip.torch.profile -> $R/profile
#   bash tools/h200_colocation/run_h200.sh colocate     each of MIXES (default mix1) under STRATEGIES
#   bash tools/h200_colocation/run_h200.sh tests        the package's pytest suite, GPU tests included
# Outputs under $OUT (default /tmp/h200_out). PROFILE: the profile for colocate (default the one the
# profile phase wrote). REPS, WINDOW, WARMUP, ALONE_S, BATCH, STRATEGIES as colocate.py's flags.
set -uo pipefail
phase=${1:?phase: profile, colocate or tests}
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/h200}
export ECLIP_LIBRARY=${ECLIP_LIBRARY:-$PWD/$BUILD/src/c_api/libeclip_c.so}
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
OUTDIR=${OUT:-/tmp/h200_out}
mkdir -p "$OUTDIR"
exec > >(tee -a "$OUTDIR/log_$phase.txt") 2>&1
nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader
python3 -m eclip cuda
case $phase in
profile)
  timeout ${TIMEOUT:-540} python3 -m eclip.torch.profile --out "$OUTDIR/profile" --batches ${BATCH:-1} \
    --models ${MODELS:-albert,densenet201,alexnet,resnet152,resnext101_32x8d,shufflenet_v2_x1_0,vgg19}
  ;;
colocate)
  P=${PROFILE:-$OUTDIR/profile/profile_b${BATCH:-1}.json}
  for mix in ${MIXES:-mix1}; do
    # The mix's models, as the CLI knows them (the paper's mixes live in the experiments library).
    $BUILD/eclip plan --profile "$P" --mix $mix -o "$OUTDIR/plan_$mix.json" > /dev/null || exit 1
    models=$(python3 -c 'import json,sys; print(",".join(w["model"] for w in json.load(open(sys.argv[1]))["workers"]))' \
      "$OUTDIR/plan_$mix.json")
    timeout ${TIMEOUT:-540} python3 tools/h200_colocation/colocate.py --mix $mix --models $models --profile "$P" \
      --batch ${BATCH:-1} --reps ${REPS:-2} --window ${WINDOW:-4} --warmup ${WARMUP:-1} --alone-s ${ALONE_S:-2} \
      --strategies ${STRATEGIES:-baseline,model-wise,kernel-wise,eclip} --out "$OUTDIR/colocate"
  done
  ;;
tests)
  python3 -m pytest -q -rs -p no:cacheprovider python/tests
  ;;
*) echo "unknown phase $phase"; exit 2 ;;
esac
