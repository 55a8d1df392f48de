#!/usr/bin/env bash
# Configures and builds Verge (Release) into build/. Incremental: fast the second time.
#   scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"$(nproc 2>/dev/null || echo 2)"
echo "build: build/verge"
