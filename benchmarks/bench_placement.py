"""Benchmark: does the stage depend on how mature a real repository is?

Audits every repository of the labelled corpus (``../shared/corpus``: real public ML
repositories, each labelled with an expected maturity band) one at a time, git-only, and
prints each repository's placement and the mean and spread of stages per band, with the
strict stage (nothing assumed) and how many of the framework's requirements are met (the
area under the maturity curve, which moves before the ladder does).

    python benchmarks/bench_placement.py [--corpus ../shared/corpus] [--framework seven_stages]

The stages should rise from the ``low`` band to ``medium`` to ``high``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.audit import run_audit  # noqa: E402
from auditor.config import AuditConfig, build_target  # noqa: E402
from benchmarks.bench_accuracy import find_corpus  # noqa: E402

BANDS = ("low", "medium", "high")


def clone_bundle(bundle: Path, dest: Path) -> Path:
    """Clone one corpus bundle and mark HEAD as the shallow boundary (see the corpus README)."""
    subprocess.run(["git", "clone", "-q", str(bundle), str(dest)], check=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout
    (dest / ".git" / "shallow").write_text(head)
    return dest


def placement_of(assessment: dict, target: str, framework: str) -> dict:
    return next(p for p in assessment["placements"]
                if p["framework"] == framework and p["scope"] == {"kind": "target", "name": target})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=find_corpus())
    parser.add_argument("--framework", default="seven_stages")
    parser.add_argument("--strict", action="store_true", help="unknown capabilities block")
    args = parser.parse_args()
    labels = yaml.safe_load((args.corpus / "labels.yaml").read_text())
    by_band: dict[str, list[int]] = {b: [] for b in BANDS}
    strict_by_band: dict[str, list[int]] = {b: [] for b in BANDS}
    met_by_band: dict[str, list[int]] = {b: [] for b in BANDS}
    with tempfile.TemporaryDirectory() as tmp:
        for repo in labels["repos"]:
            name = repo["repo"].split("/")[-1]
            path = clone_bundle(args.corpus / repo["bundle"], Path(tmp) / name)
            config = AuditConfig(targets=[build_target({"name": name, "kind": "git", "path": str(path)})])
            kwargs = {"strict": True} if args.strict else {}
            a = run_audit(config, cache_dir=Path(tmp) / "cache", frameworks=[args.framework], **kwargs)
            p = placement_of(a, name, args.framework)
            band = repo["expected_maturity_band"]
            by_band[band].append(p["stage"])
            strict_by_band[band].append(p["strict_stage"])
            met = sum(row["met"] for row in p["profile"])
            met_by_band[band].append(met)
            mark = "*" if p.get("provisional") else ""
            blockers = ", ".join(b["capability"] for b in p["blockers"]) or "-"
            print(f"{band:6} {p['stage']}{mark:1} strict {p['strict_stage']} met {met:>2}  "
                  f"{name:42} blocks: {blockers}")
    print()
    print(f"{'band':6} {'n':>2} {'mean':>5} {'median':>6} {'min':>3} {'max':>3} {'stdev':>5}"
          f" {'strict':>6} {'met':>5}")
    for band in BANDS:
        s = by_band[band]
        if not s:
            continue
        sd = statistics.pstdev(s)
        print(f"{band:6} {len(s):>2} {statistics.mean(s):>5.2f} {statistics.median(s):>6} "
              f"{min(s):>3} {max(s):>3} {sd:>5.2f} {statistics.mean(strict_by_band[band]):>6.2f}"
              f" {statistics.mean(met_by_band[band]):>5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
