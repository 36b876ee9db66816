"""Metric names about models, and small helpers. Rules are classified by the shared
classifier (:mod:`auditor.rules`, vocabulary in ``auditor/catalog/rules.yaml``), the same one
the git and Kubernetes probes use."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.rules import Classification, classify_rule, classify_text, words

__all__ = ["Classification", "classify_metric", "classify_rule", "classify_text",
           "model_metric_regex", "summarise", "words"]


def classify_metric(name: str) -> Classification:
    """A metric is about a model only when its name says how (drift, accuracy ...)."""
    return classify_text(words(name), weak=False)


def model_metric_regex() -> str:
    """A PromQL regex for ``__name__`` that pre-selects metric names that may be about models
    (each is classified again in Python, so a loose pre-selection is fine)."""
    stems = ["drift", "psi", "divergence", "wasserstein", "kolmogorov", "skew",
             "accuracy", "precision", "recall", "f1", "auc", "rmse", "mape", "logloss", "log_loss",
             "ground_truth", "data_quality", "missing_value", "null_rate", "null_ratio",
             "nan_rate", "out_of_range", "schema_violation", "expectation", "prediction",
             "predicted", "model_output", "score_distribution", "outlier_score"]
    return "(?i).*(" + "|".join(stems) + ").*"


def summarise(items: Iterable[str], cap: int = 20) -> list[str]:
    """Sorted, de-duplicated, capped list for an evidence attribute."""
    return sorted(set(items))[:cap]
