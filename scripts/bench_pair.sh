#!/bin/sh
# Alternating latency comparison of two models with `verge bench` (1 thread by default): REPS rounds of
# A then B, each `verge bench --runs RUNS --json`; prints the median over rounds of each model's median
# latency and their ratio. A relative measure: both models see the same machine load.
# usage: scripts/bench_pair.sh VERGE A.onnx B.onnx [REPS=20] [RUNS=50] [THREADS=1]
set -eu
verge=$1 a=$2 b=$3 reps=${4:-20} runs=${5:-50} threads=${6:-1}
tmp=$(mktemp -d)
i=0
while [ "$i" -lt "$reps" ]; do
  for m in a b; do
    eval "path=\$$m"
    "$verge" bench "$path" --threads "$threads" --warmup 10 --runs "$runs" --json | tail -n 1 |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])' >> "$tmp/$m"
  done
  i=$((i + 1))
done
python3 - "$tmp/a" "$tmp/b" "$a" "$b" <<'PY'
import statistics, sys
a = [float(x) for x in open(sys.argv[1])]
b = [float(x) for x in open(sys.argv[2])]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{sys.argv[3]}: median of {len(a)} medians {ma:.4f} ms (min {min(a):.4f})")
print(f"{sys.argv[4]}: median of {len(b)} medians {mb:.4f} ms (min {min(b):.4f})")
print(f"speedup (A/B): {ma / mb:.2f}x median, {min(a) / min(b):.2f}x min")
PY
rm -r "$tmp"
