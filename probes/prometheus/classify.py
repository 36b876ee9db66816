"""Is a rule or metric about the *model* (drift, accuracy, data quality, predictions) or about
the *service* (latency, errors, saturation)? Decided from words in its name, expression,
labels and summary, after splitting ``snake_case``, ``camelCase`` and ``colon:names``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Model monitoring comes first: "prediction error rate" is about the model, not the service.
MODEL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "drift": (
        r"drift", r"psi", r"population stability", r"kl divergence", r"kullback",
        r"js divergence", r"jensen shannon", r"wasserstein", r"kolmogorov", r"ks (test|stat\w*)",
        r"chi ?2", r"chi square", r"training serving skew", r"feature skew", r"covariate shift",
    ),
    "accuracy": (
        r"accuracy", r"precision", r"recall", r"f1( score)?", r"roc auc", r"auc", r"rmse",
        r"mape", r"log loss", r"model (performance|quality)", r"ground truth", r"mean absolute error",
    ),
    "data_quality": (
        r"data quality", r"missing values?", r"null (rate|ratio|count|fraction|values?)",
        r"nan (rate|ratio|count|values?)", r"out of range", r"schema (violation|mismatch|error)s?",
        r"expectations?", r"data validation", r"invalid (rows|records|features?)",
        r"feature (null|missing|range)\w*", r"stale (data|features?)", r"data freshness",
    ),
    "prediction_distribution": (
        r"predictions? (distribution|mean|average|histogram|bias|shift|score|drift|skew)",
        r"predicted (class|label|value)s?", r"model output", r"score distribution",
        r"(class|label) (distribution|balance|imbalance)", r"outlier score",
    ),
}

OPERATIONAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "latency": (r"latency", r"duration", r"response time", r"slow", r"p9[059]",
                r"histogram quantile", r"seconds bucket", r"time to first token"),
    "errors": (r"errors?", r"5xx", r"4xx", r"fail(ed|ures?|ing)?", r"exceptions?",
               r"status (code )?5", r"unavailable", r"down", r"crash\w*", r"panic"),
    "saturation": (r"cpu", r"memory", r"saturat\w*", r"gpu (util\w*|memory)", r"queue\w*",
                   r"throttl\w*", r"disk", r"oom\w*", r"restarts?", r"utili[sz]ation",
                   r"file descriptors?", r"fd", r"capacity", r"backlog", r"pending"),
    "traffic": (r"requests? (rate|total|per second)", r"rps", r"qps", r"throughput", r"traffic"),
    "availability": (r"up", r"absent", r"target missing", r"heartbeat", r"watchdog",
                     r"deadman\w*"),
}


def _compile(table: Mapping[str, tuple[str, ...]]) -> dict[str, re.Pattern[str]]:
    return {name: re.compile(r"\b(" + "|".join(words) + r")\b") for name, words in table.items()}


_MODEL = _compile(MODEL_CATEGORIES)
_OPERATIONAL = _compile(OPERATIONAL_CATEGORIES)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
#: "psi" is also Linux pressure stall information (node_pressure_*, "PSI pressure")
_PRESSURE = re.compile(r"\bpressure\b")


def words(*parts: str) -> str:
    """``ModelDriftHigh`` / ``model:feature_drift:psi`` → ``model drift high`` / ``model feature drift psi``."""
    text = " ".join(_CAMEL.sub(" ", p) for p in parts if p)
    return " ".join(_SEPARATORS.split(text.lower())).strip()


@dataclass(frozen=True)
class Classification:
    family: str  # "model", "operational" or "other"
    categories: tuple[str, ...]

    @property
    def is_model(self) -> bool:
        return self.family == "model"


def classify_text(text: str) -> Classification:
    model = tuple(name for name, rx in _MODEL.items() if rx.search(text)
                  and not (name == "drift" and _only_pressure_psi(text)))
    if model:
        return Classification("model", model)
    operational = tuple(name for name, rx in _OPERATIONAL.items() if rx.search(text))
    if operational:
        return Classification("operational", operational)
    return Classification("other", ())


def _only_pressure_psi(text: str) -> bool:
    rest = re.sub(r"\bpsi\b", "", text)
    return bool(_PRESSURE.search(text)) and not _MODEL["drift"].search(rest)


def classify_rule(name: str, expr: str, labels: Mapping[str, str] | None = None,
                  annotations: Mapping[str, str] | None = None) -> Classification:
    """Name, expression and label values; the summary annotation only as a tie-breaker."""
    label_text = " ".join(f"{k} {v}" for k, v in sorted((labels or {}).items())
                          if k not in ("severity",))
    found = classify_text(words(name, expr, label_text))
    if found.family == "other" and annotations:
        found = classify_text(words(annotations.get("summary", "")))
    return found


def classify_metric(name: str) -> Classification:
    return classify_text(words(name))


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
