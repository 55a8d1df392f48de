#!/usr/bin/python3
"""Benchmarks of `verge serve` over the KServe v2 binary REST endpoint, driven by wrk (Debian `wrk`).

Two measurements, printed as one JSON object (and written to --out if given):

throughput  For each of `batching off` and `batching on`, a fresh `verge serve` holds the model with the
            same instances and threads; wrk sends binary-tensor POST /v2/models/m/infer requests from
            --connections connections for --duration seconds. Recorded: requests/s, p50/p90/p99 latency,
            every error class wrk counts (connect/read/write/timeout/non-2xx), and the average batch the
            server executed (nv_inference_count / nv_inference_exec_count from /metrics) and the server's
            peak RSS.

overhead    What one binary-REST inference adds over running the model in-process: rounds alternating
            `verge bench MODEL --threads T --runs R` (median of R in-process runs) and wrk with ONE
            connection for --overhead-seconds against a fresh server (started for the round, warmed up
            for 1 s) with one instance of T threads and no batching (median of its latency histogram).
            The added latency is the difference of the medians of the per-round medians; also recorded:
            the median of the per-round differences (less sensitive to load that drifts between rounds).
            Each round is tagged by vCPU placement (bench/placement.py): the cross-CPU round trip probed
            before and after it is below --far-ns in both (`near`), at or above it in both (`far`) or
            neither (`mixed`); the added latency is also reported per placement (the request body crosses
            from wrk's CPU to the server's: ~60 us near, ~350 us far for 602 KB; docs/performance.md,
            "2-thread placement").

Usage: bench/serve_bench.py [--verge build/verge] [--arch resnet18 | --model M.onnx]
                            [--duration 60] [--connections 8] [--out docs/results/serve_resnet18.json]
                            [--skip-throughput | --skip-overhead] [--rounds 5] [--also-verge OLD/verge]
                            [--also-serve-args '--http-threads 4']
The machine should be otherwise idle: these are latency measurements.
"""

import argparse
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import placement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WRK_SCRIPT = r"""
local f = assert(io.open(os.getenv("VERGE_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("VERGE_HEADER_LEN")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'VERGE_WRK {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def model_input(verge, model):
  """Name and shape of the model's single input, from `verge inspect --json` (symbolic dims -> 1)."""
  out = subprocess.run([verge, "inspect", model, "--json"], check=True, capture_output=True, text=True).stdout
  info = json.loads(out.strip().splitlines()[-1])
  (inp,) = info["inputs"]
  shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp["shape"]]
  return inp["name"], shape


def request_body(name, shape, path):
  """A binary-tensor-extension body: JSON header, then the FP32 input bytes (seeded values)."""
  count = 1
  for d in shape:
    count *= d
  header = json.dumps({
      "inputs": [{"name": name, "shape": shape, "datatype": "FP32", "parameters": {"binary_data_size": count * 4}}],
      "parameters": {"binary_data_output": True},
  }).encode()
  values = [((i * 2654435761) % 1000) / 500.0 - 1.0 for i in range(count)]
  with open(path, "wb") as f:
    f.write(header)
    f.write(struct.pack(f"<{count}f", *values))
  return len(header)


def export_dynamic_batch(name, path):
  """torchvision `name` (seeded random weights, eval mode) exported with a symbolic batch dim, so the server
  can batch requests (the test models in tests/models have a fixed batch of 1)."""
  import torch
  import torchvision

  class InputMean(torch.nn.Module):
    """A trivial model (per-image channel means): what serving costs apart from the model's own run."""

    def forward(self, x):
      return x.mean(dim=(2, 3))

  torch.manual_seed(0)
  model = (InputMean() if name == "input_mean" else getattr(torchvision.models, name)()).eval()
  x = torch.randn(1, 3, 224, 224)
  torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                    dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
  return path


def make_repository(root, model, config):
  os.makedirs(os.path.join(root, "m", "1"))
  os.symlink(os.path.abspath(model), os.path.join(root, "m", "1", "model.onnx"))
  with open(os.path.join(root, "m", "config.pbtxt"), "w") as f:
    f.write(config)


class Server:
  def __init__(self, verge, repo, extra=()):
    self.proc = subprocess.Popen(
        [verge, "serve", "--model-repository", repo, "--http-port", "0", "--grpc-port", "-1", "--metrics-port", "0",
         *extra],
        stderr=subprocess.PIPE, text=True)
    self.url = self.metrics = None
    deadline = time.time() + 120
    while (self.url is None or self.metrics is None) and time.time() < deadline:
      line = self.proc.stderr.readline()
      if not line:
        break
      m = re.search(r"REST on (http://[^\s]+)", line)
      if m:
        self.url = m.group(1)
      m = re.search(r"metrics on (http://[^\s]+)", line)
      if m:
        self.metrics = m.group(1)
    if self.url is None or self.metrics is None:
      self.stop()
      sys.exit("verge serve did not start")

  def counters(self):
    text = urllib.request.urlopen(self.metrics, timeout=10).read().decode()
    values = {}
    for metric in ("nv_inference_count", "nv_inference_exec_count", "nv_inference_request_success",
                   "nv_inference_request_failure"):
      m = re.search(r"^" + metric + r"\{[^}]*\} (\S+)$", text, re.M)
      values[metric] = float(m.group(1)) if m else 0.0
    return values

  def peak_rss_mib(self):
    with open(f"/proc/{self.proc.pid}/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024.0
    return 0.0

  def stop(self):
    self.proc.send_signal(signal.SIGTERM)
    try:
      self.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
      self.proc.kill()


def run_wrk(url, script, body, header_len, connections, seconds):
  env = dict(os.environ, VERGE_BODY=body, VERGE_HEADER_LEN=str(header_len))
  out = subprocess.run(
      ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
       "-s", script, url + "/v2/models/m/infer"],
      check=True, capture_output=True, text=True, env=env).stdout
  line = next(l for l in out.splitlines() if l.startswith("VERGE_WRK "))
  r = json.loads(line[len("VERGE_WRK "):])
  r["requests_per_s"] = r["requests"] / (r["duration_us"] / 1e6)
  r["latency_ms"] = {k: v / 1000.0 for k, v in r.pop("latency_us").items()}
  return r


def throughput(args, tmp, script, body, header_len):
  instances = f"instance_group [{{ count: {args.instances} }}]\nthreads: {args.threads}\n"
  configs = {
      "batching_off": "max_batch_size: 0\n" + instances,
      "batching_on": (f"max_batch_size: {args.max_batch}\n"
                      f"dynamic_batching {{ max_queue_delay_microseconds: {args.queue_delay_us} }}\n" + instances),
  }
  results = {}
  for name, config in configs.items():
    repo = os.path.join(tmp, name)
    make_repository(repo, args.model, config)
    server = Server(args.verge, repo)
    try:
      run_wrk(server.url, script, body, header_len, args.connections, 3)  # warm-up, not recorded
      before = server.counters()
      r = run_wrk(server.url, script, body, header_len, args.connections, args.duration)
      after = server.counters()
      r["server_peak_rss_mib"] = server.peak_rss_mib()
    finally:
      server.stop()
    d = {k: after[k] - before[k] for k in after}
    r["server_failures"] = d["nv_inference_request_failure"]
    r["average_batch"] = d["nv_inference_count"] / d["nv_inference_exec_count"] if d["nv_inference_exec_count"] else 0
    r["config"] = config.strip().replace("\n", "; ")
    results[name] = r
    print(f"{name}: {r['requests_per_s']:.1f} req/s  p50 {r['latency_ms']['p50']:.2f} ms  "
          f"p99 {r['latency_ms']['p99']:.2f} ms  avg batch {r['average_batch']:.2f}  errors {r['errors']}",
          file=sys.stderr)
  return results


def overhead(args, tmp, script, body, header_len, shape):
  repo = os.path.join(tmp, "overhead")
  make_repository(repo, args.model, f"max_batch_size: 0\ninstance_group [{{ count: 1 }}]\nthreads: {args.threads}\n")
  also = args.also_verge or args.also_serve_args is not None
  servers = [(args.verge, []), (args.also_verge or args.verge, (args.also_serve_args or "").split())]
  if not also:
    servers = servers[:1]
  shape_arg = "x".join(str(d) for d in shape)
  in_process, rest, rest_other, placements = [], [], [], []

  def measure_fresh_server(verge, extra):
    # A fresh process per round, as `verge bench` is: how fast a process runs the model varies from
    # process to process with where its weights land in physical memory (docs/performance.md), and one
    # long-lived server would sample that only once.
    srv = Server(verge, repo, extra)
    try:
      run_wrk(srv.url, script, body, header_len, 1, 1)
      return run_wrk(srv.url, script, body, header_len, 1, args.overhead_seconds)["latency_ms"]["p50"]
    finally:
      srv.stop()

  for r in range(args.rounds):
    before = placement.probe(args.verge)
    out = subprocess.run([args.verge, "bench", args.model, "--threads", str(args.threads), "--runs",
                          str(args.bench_runs), "--warmup", "5", "--json"],
                         check=True, capture_output=True, text=True).stdout
    in_process.append(json.loads(out.strip().splitlines()[-1])["median_ms"])
    # Both servers in every round, which goes first alternating (load that drifts hits both alike).
    order = list(zip(servers, [rest, rest_other]))
    for (verge, extra), into in (order if r % 2 == 0 else order[::-1]):
      into.append(measure_fresh_server(verge, extra))
    placements.append(placement.classify([before, placement.probe(args.verge)], args.far_ns))
    print(f"round {r}: in-process {in_process[-1]:.3f} ms, REST p50 "
          + ", ".join(f"{x[-1]:.3f}" for x in (rest, rest_other) if x) + f" ms, placement {placements[-1]}",
          file=sys.stderr)
  ip, rp = statistics.median(in_process), statistics.median(rest)
  paired = statistics.median(r - i for i, r in zip(in_process, rest))
  print(f"overhead: in-process median {ip:.3f} ms, binary REST p50 {rp:.3f} ms, added {rp - ip:.3f} ms "
        f"(median of per-round differences {paired:.3f} ms)", file=sys.stderr)
  result = {"threads": args.threads, "input_shape": shape_arg, "rounds": args.rounds,
            "bench_runs": args.bench_runs, "overhead_seconds": args.overhead_seconds,
            "in_process_median_ms": in_process, "rest_p50_ms": rest,
            "in_process_ms": ip, "rest_ms": rp, "added_ms": rp - ip, "added_paired_median_ms": paired,
            "placement": placements}
  columns = {"in_process_ms": in_process, "rest_ms": rest,
             "added_paired_median_ms": [x - i for i, x in zip(in_process, rest)]}
  for cls, rounds, m in placement.by_class(placements, columns):
    result[cls] = {"rounds": rounds, **m, "added_ms": m["rest_ms"] - m["in_process_ms"]}
    print(f"overhead ({cls} placement, {rounds} rounds): added {result[cls]['added_ms']:.3f} ms "
          f"(paired {m['added_paired_median_ms']:.3f} ms)", file=sys.stderr)
  if also:
    op = statistics.median(rest_other)
    other_paired = statistics.median(r - i for i, r in zip(in_process, rest_other))
    print(f"overhead of {args.also_verge or args.verge} {args.also_serve_args or ''}: binary REST p50 {op:.3f} ms, added {op - ip:.3f} ms "
          f"(median of per-round differences {other_paired:.3f} ms)", file=sys.stderr)
    result["also"] = {"verge": os.path.abspath(args.also_verge or args.verge),
                      "serve_args": args.also_serve_args or "", "rest_p50_ms": rest_other, "rest_ms": op,
                      "added_ms": op - ip, "added_paired_median_ms": other_paired}
  return result


def main():
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--verge", default=os.path.join(ROOT, "build", "verge"))
  p.add_argument("--model", help="ONNX file with a symbolic batch dim (default: torchvision --arch exported here)")
  p.add_argument("--arch", default="resnet18",
                 help="torchvision architecture exported when --model is not given, or input_mean (trivial model)")
  p.add_argument("--duration", type=int, default=60, help="seconds of each wrk throughput run")
  p.add_argument("--connections", type=int, default=8)
  p.add_argument("--instances", type=int, default=2)
  p.add_argument("--threads", type=int, default=1, help="intra-op threads per instance")
  p.add_argument("--max-batch", type=int, default=8)
  p.add_argument("--queue-delay-us", type=int, default=2000)
  p.add_argument("--rounds", type=int, default=5, help="alternating rounds of the overhead measurement")
  p.add_argument("--bench-runs", type=int, default=40)
  p.add_argument("--overhead-seconds", type=int, default=5)
  p.add_argument("--skip-throughput", action="store_true")
  p.add_argument("--skip-overhead", action="store_true")
  p.add_argument("--also-verge", help="overhead only: a second server from this binary (e.g. an older build), "
                 "measured in the same rounds (which goes first alternates)")
  p.add_argument("--also-serve-args", help="overhead only: a second server with these extra `verge serve` "
                 "arguments (e.g. '--http-threads 4'), measured in the same rounds (which goes first alternates)")
  p.add_argument("--far-ns", type=float, default=150.0,
                 help="cross-CPU round trip at or above which a round counts as far placement")
  p.add_argument("--out", help="also write the JSON here")
  args = p.parse_args()

  with tempfile.TemporaryDirectory() as tmp:
    if not args.model:
      args.model = export_dynamic_batch(args.arch, os.path.join(tmp, args.arch + ".onnx"))
    name, shape = model_input(args.verge, args.model)
    script, body = os.path.join(tmp, "infer.lua"), os.path.join(tmp, "body.bin")
    with open(script, "w") as f:
      f.write(WRK_SCRIPT)
    header_len = request_body(name, shape, body)
    result = {
        "model": os.path.basename(args.model), "date": time.strftime("%Y-%m-%d"),
        "machine": os.uname().machine, "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0], "verge": os.path.abspath(args.verge),
    }
    if not args.skip_throughput:
      result["throughput"] = throughput(args, tmp, script, body, header_len)
    if not args.skip_overhead:
      result["overhead"] = overhead(args, tmp, script, body, header_len, shape)
    result["load_average_at_end"] = os.getloadavg()[0]
  text = json.dumps(result, indent=1)
  if args.out:
    with open(args.out, "w") as f:
      f.write(text + "\n")
  print(json.dumps(result))


if __name__ == "__main__":
  main()
