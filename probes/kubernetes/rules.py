"""Sorting PrometheusRule rules into model monitoring (drift, quality) and operational ones.

Words are taken from the rule name, its expression and its labels. A strong model word
(drift, psi, accuracy ...) decides; a weak one (model, prediction, feature) only when no
operational word (latency, errors, cpu ...) is present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

STRONG_MODEL = frozenset({
    "drift", "psi", "accuracy", "precision", "recall", "f1", "auc", "roc", "rmse", "mse", "mae",
    "mape", "r2", "outlier", "outliers", "skew", "wasserstein", "kolmogorov", "ks", "kl",
    "divergence", "fairness", "bias", "calibration", "concept", "jensen", "chisquare",
})
STRONG_PAIRS = frozenset({("data", "quality"), ("model", "quality"), ("prediction", "distribution"),
                          ("missing", "values"), ("null", "ratio"), ("label", "shift")})
WEAK_MODEL = frozenset({"model", "models", "prediction", "predictions", "feature", "features",
                        "inference", "score", "scores"})
OPERATIONAL = frozenset({
    "latency", "duration", "seconds", "error", "errors", "5xx", "4xx", "cpu", "memory", "oom",
    "restart", "restarts", "up", "down", "availability", "unavailable", "saturation",
    "throughput", "requests", "request", "queue", "disk", "pod", "pods", "node", "crashloop",
    "crashlooping", "replicas", "http", "grpc", "timeout", "slo", "burn", "kube", "container",
})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def words(*texts: str) -> list[str]:
    out: list[str] = []
    for text in texts:
        out.extend(w for w in _SPLIT.split(_CAMEL.sub(" ", text).lower()) if w)
    return out


def classify(name: str, expr: str, labels: Mapping[str, Any]) -> tuple[str, list[str]]:
    """("model" | "operational", the words that decided)."""
    label_text = " ".join(f"{k} {v}" for k, v in labels.items())
    ws = words(name, expr, label_text)
    strong = sorted({w for w in ws if w in STRONG_MODEL}
                    | {f"{a}_{b}" for a, b in zip(ws, ws[1:], strict=False) if (a, b) in STRONG_PAIRS})
    if strong:
        return "model", strong[:5]
    ops = sorted({w for w in ws if w in OPERATIONAL})
    weak = sorted({w for w in ws if w in WEAK_MODEL})
    if weak and not ops:
        return "model", weak[:5]
    return "operational", ops[:5]
