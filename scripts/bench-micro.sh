#!/usr/bin/env bash
# Builds and runs the kernel microbenchmarks (Google Benchmark, JSON to stdout with --json).
#   scripts/bench-micro.sh [--benchmark_filter=REGEX] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVERGE_BUILD_BENCH=ON >/dev/null
ninja -C build verge_micro >/dev/null
args=()
for a in "$@"; do
  if [[ "$a" == "--json" ]]; then args+=(--benchmark_format=json); else args+=("$a"); fi
done
exec build/bench/verge_micro --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "${args[@]}"
