"""How an Assessment answers the labelled corpus' 17 practical capabilities, and the scoring.

The corpus (``../shared/corpus``, see its README) labels real repositories with 17 capabilities
that do not match the catalog's capabilities one to one. This module is the translation: each
label is answered by **evidence signals** (with a minimum strength and attribute conditions)
and, where the catalog has the same notion, by the target's catalog capability being ``met``.
Unmet and unknown are never distinguished: a label is present when some mapped evidence exists.

A claim cites the paths of the evidence that answered it; a cited path the label lists as a
*decoy* is a decoy false positive (even when the cell is present for other reasons).

| label | answered by |
|---|---|
| ci_cd | `ci.pipeline` |
| containerization | `env.container_image`, `env.compose` |
| experiment_tracking | `tool.experiment_tracking` configured (a tracker called in code) |
| model_registry | `registry.usage`, `registry.model_version` |
| pipeline_orchestration | `pipeline.definition` configured |
| feature_store | `feature_store.definition` |
| data_versioning | `data_versioning.store` from DVC, git-lfs, lakeFS, Delta, Pachyderm (a versioned cloud bucket is the label's "cloud-platform data asset") |
| data_validation | `data_validation.check` |
| model_monitoring | `monitoring.model_job`, `monitoring.model_rule`, `monitoring.prediction_log`, `monitoring.model_metric` |
| model_serving | `serving.deployment` |
| kubernetes | `deploy.manifest`, `deploy.helm_chart` |
| infrastructure_as_code | `iac.definition` |
| testing | `quality.tests` configured (a file holding tests a runner collects) |
| model_cards | `docs.model_card` configured |
| fairness_explainability | `fairness.check`, `explainability.check` |
| scheduled_retraining | `schedule.job` with `trains: true`; a scheduled CI `ci.train_step` |
| dependency_pinning | `env.lockfile`; `env.pinned_requirements` / `env.conda` with `nearly_pinned` and `purpose: runtime` |

Scoring: per label TP/FP/FN/TN over unambiguous cells, precision, recall, F1; micro F1 (all
unambiguous cells pooled) and macro F1 (mean over labels with at least one positive cell or
prediction). The maturity band is derived from the predicted cells with the corpus' own rule
(low: at most 2 present; high: 7 or more with automated training or deployment; else medium),
counting only cells the label does not call ambiguous, as the label's count does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

LABELS = ("ci_cd", "containerization", "experiment_tracking", "model_registry",
          "pipeline_orchestration", "feature_store", "data_versioning", "data_validation",
          "model_monitoring", "model_serving", "kubernetes", "infrastructure_as_code", "testing",
          "model_cards", "fairness_explainability", "scheduled_retraining", "dependency_pinning")

#: labels that say something about machine learning (the auditor's own repository has none)
ML_LABELS = frozenset({"experiment_tracking", "model_registry", "pipeline_orchestration",
                       "feature_store", "data_versioning", "data_validation", "model_monitoring",
                       "model_serving", "model_cards", "fairness_explainability",
                       "scheduled_retraining"})

_STRENGTH = {"declared": 1, "configured": 2, "operating": 3}


@dataclass(frozen=True)
class Rule:
    """Evidence that answers a label: a signal, a minimum strength, attribute conditions
    (a value, or a tuple of accepted values)."""

    signal: str
    strength: str = "configured"
    where: tuple[tuple[str, Any], ...] = ()

    def matches(self, ev: dict[str, Any]) -> bool:
        if ev["signal"] != self.signal or _STRENGTH[ev["strength"]] < _STRENGTH[self.strength]:
            return False
        attrs = ev.get("attributes") or {}
        for key, want in self.where:
            have = attrs.get(key)
            if isinstance(want, tuple) and have not in want or not isinstance(want, tuple) and have != want:
                return False
        return True


def R(signal: str, strength: str = "configured", **where: Any) -> Rule:
    return Rule(signal, strength, tuple(sorted(where.items())))


_VERSIONING_TOOLS = ("dvc", "git-lfs", "lakefs", "delta", "pachyderm")

MAPPING: dict[str, tuple[Rule, ...]] = {
    "ci_cd": (R("ci.pipeline"),),
    "containerization": (R("env.container_image"), R("env.compose")),
    "experiment_tracking": (R("tool.experiment_tracking"),),
    "model_registry": (R("registry.usage"), R("registry.model_version")),
    "pipeline_orchestration": (R("pipeline.definition"),),
    "feature_store": (R("feature_store.definition"),),
    "data_versioning": (R("data_versioning.store", tool=_VERSIONING_TOOLS),),
    "data_validation": (R("data_validation.check"),),
    "model_monitoring": (R("monitoring.model_job"), R("monitoring.model_rule"),
                         R("monitoring.prediction_log"), R("monitoring.model_metric")),
    "model_serving": (R("serving.deployment"),),
    "kubernetes": (R("deploy.manifest"), R("deploy.helm_chart")),
    "infrastructure_as_code": (R("iac.definition"),),
    "testing": (R("quality.tests"),),
    "model_cards": (R("docs.model_card"),),
    "fairness_explainability": (R("fairness.check"), R("explainability.check")),
    "scheduled_retraining": (R("schedule.job", trains=True), R("ci.train_step", scheduled=True)),
    "dependency_pinning": (R("env.lockfile"),
                           R("env.pinned_requirements", nearly_pinned=True, purpose="runtime"),
                           R("env.conda", nearly_pinned=True, purpose="runtime")),
}

#: catalog capabilities whose ``met`` status answers a label on its own
MET_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "model_registry": ("model_registry",),
    "feature_store": ("feature_store",),
    "data_validation": ("data_validation",),
    "model_monitoring": ("model_monitoring",),
    "model_serving": ("model_serving",),
    "model_cards": ("model_documentation",),
}

#: evidence showing training or deployment is automated by CI/CD or a schedule (for the band)
AUTOMATION = (R("ci.train_step"), R("ci.deploy_step"), R("schedule.job", trains=True))


def evidence_path(ev: dict[str, Any]) -> str:
    """The repository path of a locator ``git+<url>@<sha>#<path>:<line>``."""
    loc = ev.get("locator", "")
    if "#" not in loc:
        return ""
    path = loc.split("#", 1)[1]
    head, _, tail = path.rpartition(":")
    return unquote(head if head and tail.isdigit() else path)


@dataclass
class Prediction:
    present: bool
    cited: set[str] = field(default_factory=set)


def predict(assessment: dict[str, Any], target: str) -> dict[str, Prediction]:
    """The 17 labels as the assessment answers them for one target."""
    evidence = [e for e in assessment["evidence"] if e["target"] == target]
    by_id = {e["id"]: e for e in assessment["evidence"]}
    met = {c["id"]: c for c in assessment["capabilities"]
           if c["scope"] == {"kind": "target", "name": target} and c["status"] == "met"}
    out = {}
    for label in LABELS:
        hits = [e for e in evidence if any(r.matches(e) for r in MAPPING[label])]
        for cap in MET_CAPABILITIES.get(label, ()):
            if cap in met:
                hits += [by_id[i] for i in met[cap]["evidence"] if i in by_id]
        out[label] = Prediction(bool(hits), {p for p in map(evidence_path, hits) if p})
    return out


def automated(assessment: dict[str, Any], target: str) -> bool:
    return any(r.matches(e) for e in assessment["evidence"] if e["target"] == target
               for r in AUTOMATION)


def band(present: int, automation: bool) -> str:
    if present <= 2:
        return "low"
    return "high" if present >= 7 and automation else "medium"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1


@dataclass
class Score:
    per_label: dict[str, Counts] = field(default_factory=lambda: {lb: Counts() for lb in LABELS})
    ambiguous: dict[str, Counts] = field(default_factory=lambda: {lb: Counts() for lb in LABELS})
    mistakes: list[tuple[str, str, str, str]] = field(default_factory=list)  # repo, label, kind, why
    decoys: list[tuple[str, str, str]] = field(default_factory=list)  # repo, label, path
    bands: list[tuple[str, str, str]] = field(default_factory=list)  # repo, expected, predicted

    @property
    def micro(self) -> Counts:
        total = Counts()
        for c in self.per_label.values():
            total.tp, total.fp, total.fn, total.tn = (total.tp + c.tp, total.fp + c.fp,
                                                      total.fn + c.fn, total.tn + c.tn)
        return total

    @property
    def macro_f1(self) -> float:
        scored = [c.f1 for c in self.per_label.values() if c.tp + c.fp + c.fn]
        return sum(scored) / len(scored) if scored else 1.0

    @property
    def band_agreement(self) -> float:
        return sum(e == p for _, e, p in self.bands) / len(self.bands) if self.bands else 1.0


def score_repo(score: Score, label: dict[str, Any], assessment: dict[str, Any], target: str) -> None:
    """Add one labelled repository's cells to ``score``."""
    predicted = predict(assessment, target)
    repo = label["repo"]
    for name in LABELS:
        cell = label["capabilities"][name]
        pred = predicted[name]
        bucket = score.ambiguous if cell.get("ambiguous") else score.per_label
        bucket[name].add(bool(cell["present"]), pred.present)
        if not cell.get("ambiguous") and bool(cell["present"]) != pred.present:
            why = ", ".join(sorted(pred.cited)[:4]) if pred.present else \
                ", ".join(cell.get("evidence", [])[:3])
            score.mistakes.append((repo, name, "FP" if pred.present else "FN", why))
        if pred.present:
            for path in sorted(pred.cited & set(cell.get("decoys") or [])):
                score.decoys.append((repo, name, path))
    present = sum(predicted[n].present for n in LABELS if not label["capabilities"][n].get("ambiguous"))
    score.bands.append((repo, label["expected_maturity_band"],
                        band(present, automated(assessment, target))))


def ml_claims(assessment: dict[str, Any], target: str) -> dict[str, set[str]]:
    """Labels with ML meaning the assessment says present, with the cited paths."""
    return {name: p.cited for name, p in predict(assessment, target).items()
            if name in ML_LABELS and p.present}


def per_label_table(score: Score) -> list[str]:
    rows = [f"{'capability':<24} {'TP':>3} {'FP':>3} {'FN':>3} {'TN':>3}  {'P':>5} {'R':>5} {'F1':>5}"
            f"   ambiguous TP/FP/FN/TN"]
    for name in LABELS:
        c, a = score.per_label[name], score.ambiguous[name]
        rows.append(f"{name:<24} {c.tp:>3} {c.fp:>3} {c.fn:>3} {c.tn:>3}  {c.precision:5.2f} "
                    f"{c.recall:5.2f} {c.f1:5.2f}   {a.tp}/{a.fp}/{a.fn}/{a.tn}")
    m = score.micro
    rows.append(f"{'micro':<24} {m.tp:>3} {m.fp:>3} {m.fn:>3} {m.tn:>3}  {m.precision:5.2f} "
                f"{m.recall:5.2f} {m.f1:5.2f}")
    rows.append(f"macro F1 {score.macro_f1:.3f}")
    return rows


def by_repo(score: Score) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for repo, label, kind, why in score.mistakes:
        out[repo].append((label, kind, why))
    return out
