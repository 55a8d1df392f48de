#!/bin/sh
# Builds the int8 models issue #5's speed bar is measured on: each exported torchvision model in
# tests/models (scripts/export_models.py) quantized by `verge quantize` with 16 fixed N(0, 1) calibration
# inputs (numpy seed 0), into OUT/<name>/model.onnx; then compare with ONNX Runtime on the same files:
#   bench/make_int8_models.sh /tmp/int8 && bench/compare_ort.py --models /tmp/int8 \
#       --names resnet18,mobilenet_v2,squeezenet1_1,efficientnet_b0,mobilenet_v3_small --rounds 5 --runs 30
# usage: bench/make_int8_models.sh OUT [VERGE=build/verge] [MODELS=tests/models]
set -eu
out=$1 verge=${2:-build/verge} models=${3:-tests/models}
mkdir -p "$out/calib"
/usr/bin/python3 - "$out/calib" <<'PY'
import os, sys
import numpy as np
rng = np.random.default_rng(0)
for i in range(16):
    np.save(os.path.join(sys.argv[1], f"{i:02d}.npy"), rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
PY
for m in resnet18 mobilenet_v2 squeezenet1_1 efficientnet_b0 mobilenet_v3_small; do
  mkdir -p "$out/$m"
  "$verge" quantize "$models/$m/model.onnx" -o "$out/$m/model.onnx" --calib "$out/calib" --calib-size 16 |
    tail -n 1
done
