"""Benchmark: the Prometheus probe over a huge rule set on a real Prometheus.

Starts Debian's ``prometheus`` on a free port with RULES recording rules (plus a few model
rules), then runs the probe with the default bound (max_rules=5000) and unbounded. Prints the
median wall time of a few runs, HTTP requests against the minimum (one page per endpoint —
Prometheus 2.x does not paginate /api/v1/rules), bytes read, and peak Python memory.

    python benchmarks/bench_prometheus.py [RULES]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.evidence import Unobserved  # noqa: E402
from auditor.probe import ProbeContext, Target  # noqa: E402
from probes.prometheus import PrometheusProbe, PrometheusSettings  # noqa: E402
from tests.servers.prometheus import MODEL_RULES, bulk_rules, start_prometheus  # noqa: E402

RUNS = 3
#: build info, rules, targets, alertmanagers, ALERTS, metric names (no serving metrics here)
MIN_REQUESTS = 6


def run_once(url: str, max_rules: int, workdir: Path) -> dict:
    target = Target(name="bench", kind="prometheus",
                    settings=PrometheusSettings(url=url, max_rules=max_rules))
    ctx = ProbeContext(probe="prometheus", cache_dir=workdir)
    tracemalloc.start()
    started = time.perf_counter()
    out = list(PrometheusProbe().collect(target, ctx))
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    skipped = [u.reason for u in out if isinstance(u, Unobserved) and "max_rules" in u.reason]
    return {"wall": wall, "peak": peak, "requests": ctx.requests.count,
            "bytes": ctx.requests.bytes, "items": len(out),
            "skipped": skipped[0] if skipped else "none"}


def main() -> None:
    rules = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    workdir = Path(tempfile.mkdtemp(prefix="bench-prom-"))
    t0 = time.perf_counter()
    server = start_prometheus(workdir, {"bulk.yml": bulk_rules(rules), "model.yml": MODEL_RULES},
                              [], scrape_interval="15s")
    print(f"prometheus with {rules + 5} rules ready in {time.perf_counter() - t0:.1f}s")
    try:
        for max_rules in (5000, rules + 100):
            results = [run_once(server.url, max_rules, workdir) for _ in range(RUNS)]
            wall = statistics.median(r["wall"] for r in results)
            last = results[-1]
            print(f"max_rules={max_rules}: wall {wall * 1000:.0f} ms (median of {RUNS}), "
                  f"requests {last['requests']} (minimum {MIN_REQUESTS}), "
                  f"read {last['bytes'] / 1e6:.1f} MB, peak Python memory "
                  f"{max(r['peak'] for r in results) / 1e6:.1f} MB, {last['items']} items; "
                  f"skipped: {last['skipped']}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
