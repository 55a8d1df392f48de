#!/usr/bin/env bash
# Configures and builds Verge (Release) into build/. Incremental: fast the second time.
#   scripts/build.sh [--target NAME] [extra cmake args]     (default: every target, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
if [[ "${1:-}" == "--target" ]]; then
  targets=("$2")
  shift 2
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"$(nproc 2>/dev/null || echo 2)" "${targets[@]}"
echo "build: build/verge"
