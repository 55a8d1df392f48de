#!/usr/bin/python3
"""Verge vs ONNX Runtime on the same ONNX files, same machine, same run.

For every model and thread count, the two engines alternate (A B A B ...) for ROUNDS rounds; each run is
a separate process measuring the median of RUNS inferences after warm-up. Reported per engine: the median
of the round medians. Ratio = ORT_ms / Verge_ms (> 1: Verge is faster). Prints one JSON line per
(model, threads) and a markdown table; --json-out writes all results.

Multi-threaded rounds are also tagged by vCPU placement (docs/performance.md, "2-thread placement"): the
cross-CPU round trip is probed before Verge's run, around its timed runs and after ORT's run; a round is
`near` when every probe is below --far-ns, `far` when every probe is at or above it, `mixed` otherwise,
and each result carries the medians and ratio per placement.

usage: bench/compare_ort.py [--models DIR] [--names a,b] [--threads 1,2] [--rounds 3] [--runs 20]
                            [--verge build/verge] [--json-out FILE] [-- extra verge bench args]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

from placement import by_class, classify
from placement import probe as placement_probe

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_NAMES = "mobilenet_v2,resnet18,squeezenet1_1,shufflenet_v2_x1_0,efficientnet_b0,mobilenet_v3_small"


def last_json(out):
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + out)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr}{p.stdout}")
    return last_json(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(REPO, "tests", "models"))
    ap.add_argument("--names", default=DEFAULT_NAMES)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--verge", default=os.path.join(REPO, "build", "verge"))
    ap.add_argument("--json-out")
    ap.add_argument("--far-ns", type=float, default=150.0,
                    help="cross-CPU round trip at or above which a round counts as far placement")
    ap.add_argument("extra", nargs="*", help="extra arguments for `verge bench`")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node")):
        sys.exit("ONNX Runtime is missing: run `npm install --ignore-scripts` in bench/")
    results = []
    for name in a.names.split(","):
        model = os.path.join(a.models, name, "model.onnx") if os.path.isdir(os.path.join(a.models, name)) else name
        for t in [int(x) for x in a.threads.split(",")]:
            v, o, placement = [], [], []
            for _ in range(a.rounds):
                before = placement_probe(a.verge) if t >= 2 else None
                v.append(run([a.verge, "bench", model, "--threads", str(t), "--runs", str(a.runs), "--json"] + a.extra))
                o.append(run(["node", os.path.join(HERE, "ort_bench.js"), model, "--threads", str(t), "--runs", str(a.runs)]))
                if t >= 2:
                    probes = [before] + v[-1].get("core_rtt_ns", []) + [placement_probe(a.verge)]
                    placement.append(classify(probes, a.far_ns))
            med = lambda rs, k: statistics.median(r[k] for r in rs)
            r = {"model": os.path.basename(os.path.dirname(model)) if model.endswith("model.onnx") else model,
                 "threads": t, "verge_ms": med(v, "median_ms"), "ort_ms": med(o, "median_ms"),
                 "verge_load_ms": med(v, "load_ms"), "ort_load_ms": med(o, "load_ms"),
                 "verge_rss_mb": med(v, "peak_rss_mb"), "ort_rss_mb": med(o, "peak_rss_mb"),
                 "ort_node_baseline_rss_mb": med(o, "node_baseline_rss_mb"), "rounds": a.rounds, "runs": a.runs}
            r["ratio"] = r["ort_ms"] / r["verge_ms"]
            if placement:
                r["placement"] = placement
                columns = {"verge_ms": [x["median_ms"] for x in v], "ort_ms": [x["median_ms"] for x in o]}
                for cls, rounds, m in by_class(placement, columns):
                    r[cls] = {"rounds": rounds, **m, "ratio": m["ort_ms"] / m["verge_ms"]}
            results.append(r)
            print(json.dumps(r), flush=True)
    geo = math.exp(sum(math.log(r["ratio"]) for r in results) / len(results))
    print()
    print("| model | threads | Verge ms | ORT ms | ORT/Verge | near: rounds, ratio | far: rounds, ratio "
          "| Verge load ms | ORT load ms | Verge RSS MiB | ORT RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    cell = lambda r, cls: f"{r[cls]['rounds']}, {r[cls]['ratio']:.2f}" if cls in r else "-"
    for r in results:
        print(f"| {r['model']} | {r['threads']} | {r['verge_ms']:.2f} | {r['ort_ms']:.2f} | {r['ratio']:.2f} | "
              f"{cell(r, 'near')} | {cell(r, 'far')} | "
              f"{r['verge_load_ms']:.0f} | {r['ort_load_ms']:.0f} | {r['verge_rss_mb']:.0f} | {r['ort_rss_mb']:.0f} |")
    print(f"\ngeometric mean ORT/Verge over {len(results)}: {geo:.3f}")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"results": results, "geomean_ratio": geo}, f, indent=1)


if __name__ == "__main__":
    main()
