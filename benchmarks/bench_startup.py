"""Start-up time of `mlops-auditor --help` (target: under 0.3 s) next to a bare interpreter.

Run: python benchmarks/bench_startup.py [runs]
Reports medians of N runs measured in this one process, and the ratio to `python -c pass`,
because absolute times on a shared machine are noisy.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    script = shutil.which("mlops-auditor")
    bare = median_seconds([sys.executable, "-c", "pass"], runs)
    module = median_seconds([sys.executable, "-m", "auditor", "--help"], runs)
    rows = [("python -c pass", bare), ("python -m auditor --help", module)]
    if script:
        rows.append(("mlops-auditor --help", median_seconds([script, "--help"], runs)))
    print(f"{'command':30} {'median s':>9} {'x bare':>7}   ({runs} runs each)")
    for name, t in rows:
        print(f"{name:30} {t:9.3f} {t / bare:7.1f}")
    worst = max(t for _, t in rows[1:])
    print(f"\ntarget < 0.300 s: {'met' if worst < 0.3 else 'MISSED'} ({worst:.3f} s)")


if __name__ == "__main__":
    main()
