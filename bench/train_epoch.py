#!/usr/bin/python3
"""One Fashion-MNIST training epoch of the fmnist_cnn architecture, PyTorch vs `verge train`, side by side.

    bench/train_epoch.py build/verge [--rounds 2] [--threads 2] [--batch-size 128] [--limit N] [-o out.json]

The script defines the architecture itself (Conv 1->32 3x3, ReLU, MaxPool 2, Conv 32->64 3x3, ReLU,
MaxPool 2, Linear 1600->128, ReLU, Linear 128->10), initializes it with a fixed seed and exports that
initialization to ONNX, so both engines start from the same weights. Then, alternating within one run,
it trains one epoch in PyTorch (Adam lr 1e-3, torch.set_num_threads(THREADS)) and one with `verge train`
(same optimizer, batch size, thread count, data from /usr/share/datasets/fashion-mnist), each in its
own process.

Reported per run (JSON on stdout, also written to -o): CPU time (user+sys) and wall time of the epoch
alone (PyTorch: process_time/perf_counter around the loop; verge: its --json per-epoch cpu_seconds and
seconds) and of the whole process (wait4 rusage, includes interpreter start, data loading, export), plus
the mean training loss and accuracy as a sanity check. CPU-time ratios are what a shared machine can
compare; wall times are only meaningful on a quiet one (the load average is recorded).
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

DATA = "/usr/share/datasets/fashion-mnist"


def build_model():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))


def read_idx(path):
    import numpy as np

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def idx_path(data, name):
    for candidate in (f"{data}/{name}.gz", f"{data}/{name}"):
        if os.path.exists(candidate):
            return candidate
    sys.exit(f"missing {data}/{name}[.gz]")


def torch_worker(args):
    """Runs in a child process: one epoch from the saved initial weights; prints one JSON line."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    x = torch.tensor(read_idx(idx_path(args.data, "train-images-idx3-ubyte")), dtype=torch.float32)
    x = x.unsqueeze(1) / 255.0
    y = torch.tensor(read_idx(idx_path(args.data, "train-labels-idx1-ubyte")), dtype=torch.long)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    model = build_model()
    model.load_state_dict(torch.load(args.torch_worker))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.manual_seed(0)
    perm = torch.randperm(len(x))
    model.train()
    loss_sum, correct = 0.0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(0, len(x), args.batch_size):
        b = perm[i:i + args.batch_size]
        opt.zero_grad()
        logits = model(x[b])
        loss = F.cross_entropy(logits, y[b])
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(b)
        correct += (logits.argmax(1) == y[b]).sum().item()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"epoch_cpu_s": cpu, "epoch_wall_s": wall, "loss": loss_sum / len(x),
                      "accuracy": correct / len(x), "samples": len(x)}))


def run_child(cmd):
    """Runs cmd; returns (stdout, whole-process CPU seconds user+sys, wall seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out, err = p.stdout.read(), p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}{out}")
    return out, usage.ru_utime + usage.ru_stime, wall


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("verge", nargs="?", help="path to the verge binary")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--rounds", type=int, default=2, help="alternating PyTorch/verge epochs (each)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke runs)")
    ap.add_argument("-o", "--out", help="also write the JSON report here")
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)  # internal: initial state_dict path
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if not args.verge:
        ap.error("the verge binary is required")

    import torch

    tmp = tempfile.mkdtemp(prefix="train_epoch_")
    torch.manual_seed(0)
    model = build_model()
    torch.save(model.state_dict(), f"{tmp}/init.pt")
    onnx_path = f"{tmp}/fmnist_cnn_init.onnx"
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=13, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=False)

    torch_cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", f"{tmp}/init.pt", "--data", args.data,
                 "--threads", str(args.threads), "--batch-size", str(args.batch_size), "--limit", str(args.limit)]
    verge_cmd = [args.verge, "train", onnx_path, "--data", args.data, "--epochs", "1", "--batch-size",
                 str(args.batch_size), "--optimizer", "adam", "--lr", "0.001", "--threads", str(args.threads),
                 "--json", "-o", f"{tmp}/trained.onnx"]
    if args.limit:
        verge_cmd += ["--limit", str(args.limit)]

    runs = []
    for r in range(args.rounds):
        for engine, cmd in (("pytorch", torch_cmd), ("verge", verge_cmd)):
            load = os.getloadavg()[0]
            out, cpu, wall = run_child(cmd)
            j = last_json(out)
            if engine == "verge":
                e = j["epochs"][0]
                j = {"epoch_cpu_s": e["cpu_seconds"], "epoch_wall_s": e["seconds"], "loss": e["loss"],
                     "accuracy": e["accuracy"], "samples": e["samples"]}
            run = {"engine": engine, "round": r, **j, "process_cpu_s": cpu, "process_wall_s": wall,
                   "load_avg_1min_before": load}
            runs.append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)

    def median(engine, key):
        v = sorted(x[key] for x in runs if x["engine"] == engine)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])

    summary = {k: {e: median(e, k) for e in ("pytorch", "verge")}
               for k in ("epoch_cpu_s", "epoch_wall_s", "process_cpu_s", "process_wall_s")}
    for k in summary:
        summary[k]["ratio_verge_over_pytorch"] = summary[k]["verge"] / summary[k]["pytorch"]
    report = {"torch_version": torch.__version__, "threads": args.threads, "batch_size": args.batch_size,
              "optimizer": "adam lr 1e-3", "samples": runs[0]["samples"], "cpus": os.cpu_count(),
              "load_avg_after": os.getloadavg(), "median": summary, "runs": runs}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    for name in os.listdir(tmp):
        os.remove(f"{tmp}/{name}")
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
