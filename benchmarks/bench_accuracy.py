"""Benchmark: detection accuracy on the labelled corpus of real repositories.

Clones each bundle of ``../shared/corpus`` (relative to the project root) into a temporary
directory, marks HEAD as the shallow boundary (the bundles hold one commit), audits it with
the git probe, maps the Assessment onto the corpus' 17 capabilities
(``benchmarks/corpus_mapping.py``) and prints per capability TP/FP/FN/TN, precision, recall
and F1, micro and macro F1 over unambiguous cells, decoy false positives and maturity-band
agreement. It also audits this project's own repository, which must claim no ML capability.

    python benchmarks/bench_accuracy.py [--corpus DIR] [--repo SUBSTRING] [--evidence]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpus_mapping import (  # noqa: E402
    LABELS,
    Score,
    by_repo,
    evidence_path,
    ml_claims,
    per_label_table,
    predict,
    score_repo,
)


def find_corpus() -> Path:
    """The labelled corpus: ``$MLOPS_AUDITOR_CORPUS``, else ``../shared/corpus`` next to this
    checkout, else the workplace's shared folder (``/work/shared/corpus``) — so a clean clone
    made anywhere on the machine (as CI makes) still finds it. The first candidate is
    returned when none exists, for the error message."""
    import os

    candidates = [Path(p) for p in [os.environ.get("MLOPS_AUDITOR_CORPUS", "")] if p]
    candidates += [ROOT.parent / "shared" / "corpus", Path("/work/shared/corpus")]
    return next((c for c in candidates if (c / "labels.yaml").is_file()), candidates[0])


CORPUS = find_corpus()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


class CorpusMissing(RuntimeError):
    pass


def load_labels(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    import yaml

    labels = corpus / "labels.yaml"
    if not labels.is_file():
        raise CorpusMissing(f"labelled corpus not found: {labels} (expected ../shared/corpus "
                            "relative to the project root, or $MLOPS_AUDITOR_CORPUS)")
    return yaml.safe_load(labels.read_text())["repos"]


def clone(bundle: Path, dest: Path) -> Path:
    """A bundle cloned and its HEAD marked shallow (its parents are not in the bundle)."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(bundle), str(dest)], check=True,
                   capture_output=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (dest / ".git" / "shallow").write_text(head + "\n")
    return dest


def audit(path: Path, name: str, cache: Path) -> dict[str, Any]:
    from auditor.audit import run_audit
    from auditor.config import AuditConfig, build_target

    config = AuditConfig(targets=[build_target({"name": name, "kind": "git", "path": str(path)})])
    return run_audit(config, cache_dir=cache, now=NOW, jobs=1)


def audited_corpus(corpus: Path = CORPUS, only: str = "") -> Iterator[tuple[dict, dict, str]]:
    """(label, assessment, target name) for each labelled repository."""
    labels = load_labels(corpus)
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        for label in labels:
            if only and only.lower() not in label["repo"].lower():
                continue
            name = label["repo"].replace("/", "+")
            path = clone(corpus / label["bundle"], Path(tmp) / name)
            yield label, audit(path, "repo", Path(tmp) / "cache"), "repo"


def measure(corpus: Path = CORPUS, only: str = "") -> tuple[Score, dict[str, dict]]:
    score = Score()
    assessments = {}
    for label, assessment, target in audited_corpus(corpus, only):
        score_repo(score, label, assessment, target)
        assessments[label["repo"]] = assessment
    return score, assessments


def own_repository_claims() -> dict[str, set[str]]:
    """ML labels this project's own repository (its committed HEAD) is said to show."""
    with tempfile.TemporaryDirectory(prefix="self-") as tmp:
        assessment = audit(ROOT, "self", Path(tmp))
    return ml_claims(assessment, "self")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--repo", default="", help="only repositories whose name contains this")
    parser.add_argument("--evidence", action="store_true", help="print each repository's evidence")
    args = parser.parse_args()
    score, assessments = measure(args.corpus, args.repo)
    if args.evidence:
        for repo, a in assessments.items():
            print(f"== {repo}")
            for e in a["evidence"]:
                attrs = {k: v for k, v in (e.get("attributes") or {}).items()
                         if k in ("tool", "role", "trains", "scheduled", "kind", "system",
                                  "nearly_pinned", "purpose", "source")}
                print(f"   {e['signal']:<28} {e['strength']:<10} {evidence_path(e)}  {attrs}")
            for u in a["unobserved"]:
                print(f"   unobserved: {u['what']}: {u['reason']}")
            pred = predict(a, "repo")
            print("   predicted:", ", ".join(n for n in LABELS if pred[n].present))
    print("\n".join(per_label_table(score)))
    m = score.micro
    print(f"\nmicro F1 {m.f1:.3f} (P {m.precision:.3f} R {m.recall:.3f}) over "
          f"{m.tp + m.fp + m.fn + m.tn} unambiguous cells; macro F1 {score.macro_f1:.3f}")
    print(f"decoy false positives: {len(score.decoys)}")
    for repo, label, path in score.decoys:
        print(f"   {repo}: {label} cites decoy {path}")
    print(f"band agreement: {sum(e == p for _, e, p in score.bands)}/{len(score.bands)}")
    for repo, expected, predicted in score.bands:
        print(f"   {repo}: expected {expected}, predicted {predicted}"
              f"{'' if expected == predicted else '  <-- differs'}")
    mistakes = by_repo(score)
    if mistakes:
        print("misses and false claims on unambiguous cells:")
        for repo, rows in mistakes.items():
            for label, kind, why in rows:
                print(f"   {kind} {repo}: {label}  ({why})")
    if not args.repo:
        claims = own_repository_claims()
        print(f"this project's own repository: {len(claims)} ML capabilities claimed")
        for label, paths in sorted(claims.items()):
            print(f"   {label}: {', '.join(sorted(paths)[:5])}")


if __name__ == "__main__":
    main()
