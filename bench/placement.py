"""vCPU placement of a benchmark round, from cross-CPU round-trip probes (`verge sysinfo --json`;
docs/performance.md, "2-thread placement"). Shared by compare_ort.py and serve_bench.py."""
import json
import statistics
import subprocess


def probe(verge):
  """The cross-CPU round trip in ns now, or None when the process has fewer than two CPUs."""
  out = subprocess.run([verge, "sysinfo", "--json"], check=True, capture_output=True, text=True).stdout
  return json.loads(out.strip().splitlines()[-1]).get("core_rtt_ns")


def classify(probes, far_ns):
  """{"probes_ns", "class"}: `near` when every probe is below far_ns, `far` when every one is at or above
  it, `mixed` otherwise (None probes are dropped)."""
  probes = [p for p in probes if p is not None]
  far = [p >= far_ns for p in probes]
  return {"probes_ns": [round(p) for p in probes],
          "class": "far" if probes and all(far) else "near" if not any(far) else "mixed"}


def by_class(placement, columns):
  """For each class present: (class, rounds, {name: median of that column over the class's rounds})."""
  for cls in ("near", "far", "mixed"):
    idx = [i for i, p in enumerate(placement) if p["class"] == cls]
    if idx:
      yield cls, len(idx), {name: statistics.median(col[i] for i in idx) for name, col in columns.items()}
