#!/usr/bin/env bash
# Installs what Verge needs, builds it (Release) and runs its main job on the model that ships with it:
# a Fashion-MNIST classifier inspected, evaluated on the 1,000 bundled test images and benchmarked.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target verge
model=tests/data/fmnist_cnn.onnx
echo; echo "== verge inspect $model"; build/verge inspect "$model"
echo; echo "== verge eval $model --data tests/data/fmnist-sample"; build/verge eval "$model" --data tests/data/fmnist-sample
echo; echo "== verge bench $model --shape image=1x1x28x28"; build/verge bench "$model" --shape image=1x1x28x28 --runs 200
