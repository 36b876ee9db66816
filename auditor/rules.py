"""One classifier of alerting and recording rules, shared by every probe that finds them:
rule files in repositories (git), PrometheusRule objects (Kubernetes) and loaded rules
(Prometheus). Its vocabulary is catalog data (``auditor/catalog/rules.yaml``): a rule is
about the *model* (drift, accuracy, data quality, predictions), about the *service*
(latency, errors, saturation, traffic, availability), or neither (``other``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from auditor import catalog

MODEL = "model"
OPERATIONAL = "operational"
OTHER = "other"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Classification:
    family: str  # "model", "operational" or "other"
    categories: tuple[str, ...]

    @property
    def is_model(self) -> bool:
        return self.family == MODEL


@dataclass(frozen=True)
class Vocabulary:
    model: dict[str, re.Pattern[str]]
    operational: dict[str, re.Pattern[str]]
    weak_model: re.Pattern[str]
    not_drift_when: re.Pattern[str]
    ignored_labels: frozenset[str]
    remediation: re.Pattern[str]


def _words_rx(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(words) + r")\b")


@cache
def vocabulary() -> Vocabulary:
    data = catalog.load_data("rules.yaml")
    return Vocabulary(
        model={name: _words_rx(words) for name, words in data["model"].items()},
        operational={name: _words_rx(words) for name, words in data["operational"].items()},
        weak_model=_words_rx(data["weak_model"]),
        not_drift_when=_words_rx([data["not_drift_when"]]),
        ignored_labels=frozenset(data["ignored_labels"]),
        remediation=re.compile(data["remediation"], re.IGNORECASE),
    )


def words(*parts: str) -> str:
    """``ModelDriftHigh`` / ``model:feature_drift:psi`` → ``model drift high`` /
    ``model feature drift psi``."""
    text = " ".join(_CAMEL.sub(" ", p) for p in parts if p)
    return " ".join(_SEPARATORS.split(text.lower())).strip()


def _only_pressure_psi(text: str, vocab: Vocabulary) -> bool:
    """``psi`` next to ``pressure`` is Linux pressure stall information, not drift."""
    rest = re.sub(r"\bpsi\b", "", text)
    return bool(vocab.not_drift_when.search(text)) and not vocab.model["drift"].search(rest)


def classify_text(text: str, weak: bool = True) -> Classification:
    """Classify already split words (see :func:`words`). ``weak``: a weak model word alone
    makes it a model rule (for rules; a metric name needs a category)."""
    vocab = vocabulary()
    model = tuple(name for name, rx in vocab.model.items() if rx.search(text)
                  and not (name == "drift" and _only_pressure_psi(text, vocab)))
    if model:
        return Classification(MODEL, model)
    operational = tuple(name for name, rx in vocab.operational.items() if rx.search(text))
    if operational:
        return Classification(OPERATIONAL, operational)
    if weak and vocab.weak_model.search(text):
        return Classification(MODEL, ("model_general",))
    return Classification(OTHER, ())


def classify_rule(name: str, expr: str, labels: Mapping[str, Any] | None = None,
                  annotations: Mapping[str, Any] | None = None) -> Classification:
    """A rule from its name, expression and label values; the ``summary`` (or
    ``description``) annotation only as a tie-breaker."""
    ignored = vocabulary().ignored_labels
    label_text = " ".join(f"{k} {v}" for k, v in sorted((labels or {}).items())
                          if str(k) not in ignored)
    found = classify_text(words(name, expr, label_text))
    if found.family == OTHER and annotations:
        summary = annotations.get("summary") or annotations.get("description") or ""
        found = classify_text(words(str(summary)))
    return found


def starts_remediation(text: str) -> bool:
    """Whether a webhook URL, receiver name or rule action reads as starting remediation
    (retraining, rollback, a pipeline or workflow)."""
    return bool(vocabulary().remediation.search(text))
