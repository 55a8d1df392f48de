#!/usr/bin/python3
"""Cross-checks Verge's ONNX output with ONNX Runtime: every model is imported and re-exported by
`verge export`, and optimized by `verge optimize --level basic` (which must stay standard ONNX); each
file is run by ONNX Runtime (bench/ort_run.js) and by Verge, and compared with PyTorch's output
(max|err| <= 1e-4 * max|ref|).

usage: tests/ort_crosscheck.py VERGE_BIN REPO_DIR
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

verge, repo = sys.argv[1], sys.argv[2]
models_dir = os.path.join(repo, "tests", "models")
ort_run = os.path.join(repo, "bench", "ort_run.js")
if not os.path.isdir(os.path.join(repo, "bench", "node_modules", "onnxruntime-node")):
    sys.exit("ONNX Runtime is missing: run `npm install --ignore-scripts` in bench/ (scripts/test.sh does)")

cases = []
for name in sorted(os.listdir(models_dir)):
    d = os.path.join(models_dir, name)
    if os.path.exists(os.path.join(d, "model.onnx")):
        cases.append((name, os.path.join(d, "model.onnx"), "input", os.path.join(d, "input.npy"), os.path.join(d, "output.npy")))
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(0)
    fm_in = os.path.join(tmp, "fmnist_x.npy")
    np.save(fm_in, rng.random((4, 1, 28, 28), dtype=np.float32))
    cases.append(("fmnist_cnn", os.path.join(repo, "tests", "data", "fmnist_cnn.onnx"), "image", fm_in, None))
    for (name, model, input_name, x, expected), form in [(c, f) for c in cases for f in ("export", "basic")]:
        exported = os.path.join(tmp, f"{name}.{form}.onnx")
        cmd = [verge, "export", model, "-o", exported] if form == "export" else \
              [verge, "optimize", model, "-o", exported, "--level", "basic"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        outs = {}
        for engine in ("ort", "verge"):
            out_dir = os.path.join(tmp, f"{name}.{form}_{engine}")
            cmd = (["node", ort_run, exported] if engine == "ort" else [verge, "run", exported]) + \
                  ["--input", f"{input_name}={x}", "--output-dir", out_dir]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            outs[engine] = np.load(os.path.join(out_dir, sorted(os.listdir(out_dir))[0]))
        ref = np.load(expected) if expected else outs["ort"]
        for engine, y in outs.items():
            err = float(np.abs(y - ref).max())
            scale = float(np.abs(ref).max())
            ok = err <= 1e-4 * scale
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name:20s} {form:6s} {engine:5s} max|err| {err:.3g}  max|ref| {scale:.3g}")
print(f"{len(cases)} models, {failures} failures")
sys.exit(1 if failures else 0)
