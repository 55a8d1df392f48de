#!/usr/bin/env bash
# Installs everything the tests need (Debian packages: ONNX node tests, Fashion-MNIST, PyTorch), builds
# Verge, exports the reference models (cached in tests/models), and runs the whole suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
/usr/bin/python3 scripts/export_models.py tests/models
(cd bench && [[ -d node_modules/onnxruntime-node ]] || npm install --ignore-scripts --no-audit --no-fund >/dev/null)
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" "$@"
