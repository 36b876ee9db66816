"""Metric names scraped lately: model servers (a model is being served) and model-quality
exporters (drift, accuracy, data quality, prediction distribution)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.refs import model_key
from probes.prometheus.classify import classify_metric, model_metric_regex, summarise
from probes.prometheus.client import ApiError
from probes.prometheus.scope import METRIC_SIGNALS, Scope
from probes.prometheus.serving import (
    MODEL_LABELS,
    MODEL_NAME_LABELS,
    SERVING_PATTERNS,
    framework_of,
    serving_regex,
)

#: "scraped lately" = samples within this window
WINDOW = timedelta(hours=1)
MAX_NAMES = 5000
MAX_MODEL_ROWS = 500


def metric_evidence(scope: Scope) -> Iterator[Evidence | Unobserved]:
    now = scope.ctx.now
    params = [
        ("match[]", f'{{__name__=~"{serving_regex()}"}}'),
        ("match[]", f'{{__name__=~"{model_metric_regex()}"}}'),
        ("start", f"{(now - WINDOW).timestamp():.0f}"),
        ("end", f"{now.timestamp():.0f}"),
    ]
    try:
        names = scope.client.prom("/api/v1/label/__name__/values", params)
    except ApiError as exc:
        yield scope.unobserved("metric names", exc.reason, METRIC_SIGNALS)
        return
    if not isinstance(names, list):
        yield scope.unobserved("metric names", "/api/v1/label/__name__/values answered "
                                               "without a list", METRIC_SIGNALS)
        return
    serving: dict[str, list[str]] = defaultdict(list)
    model: dict[str, list[str]] = defaultdict(list)
    for name in names[:MAX_NAMES]:
        name = str(name)
        framework = framework_of(name)
        if framework:
            serving[framework].append(name)
            continue
        found = classify_metric(name)
        if found.is_model:
            for category in found.categories:
                model[category].append(name)
    for framework in sorted(serving):
        scope.ctx.check()
        yield from _serving(scope, framework, serving[framework])
    for category in sorted(model):
        metrics = model[category]
        yield scope.evidence(
            "monitoring.model_metric", Strength.OPERATING,
            scope.locator("metrics", "model", category),
            {"category": category, "metrics": summarise(metrics), "count": len(metrics)},
            f"{category} metrics scraped: {', '.join(summarise(metrics, 5))}",
        )


#: how far back a served model's latest sample may be: one failed scrape at the moment of the
#: audit marks a series stale, and an instant query would then not see the model at all
SERVED_LOOKBACK = "5m"


def _served_models(scope: Scope, framework: str) -> tuple[list[str], list[str]]:
    """(served names, links_to keys) from one ``count by`` query over each series' latest
    sample in :data:`SERVED_LOOKBACK`; bounded by model count."""
    query = (f"count by ({', '.join(MODEL_LABELS)}) "
             f'(last_over_time({{__name__=~"{SERVING_PATTERNS[framework]}"}}[{SERVED_LOOKBACK}]))')
    data = scope.client.prom("/api/v1/query",
                             [("query", query), ("time", f"{scope.ctx.now.timestamp():.0f}")])
    names: set[str] = set()
    links: set[str] = set()
    rows: list[Any] = data.get("result", []) if isinstance(data, dict) else []
    for row in rows[:MAX_MODEL_ROWS]:
        labels = row.get("metric", {}) if isinstance(row, dict) else {}
        for label in MODEL_LABELS:
            value = labels.get(label)
            if value:
                names.add(value)
                if label in MODEL_NAME_LABELS:
                    links.add(model_key(value))
                break
    return sorted(names), sorted(links)


def _serving(scope: Scope, framework: str, metrics: list[str]) -> Iterator[Evidence | Unobserved]:
    try:
        models, links = _served_models(scope, framework)
    except ApiError as exc:
        yield scope.unobserved(f"models served by {framework}", exc.reason, ())
        models, links = [], []
    attributes: dict[str, Any] = {
        "framework": framework, "metrics": summarise(metrics), "metric_count": len(metrics),
        "models": models[:20], "model_count": len(models),
    }
    if links:
        attributes["links_to"] = links[:20]
    shown = ", ".join(models[:5]) or "no model label"
    yield scope.evidence("serving.deployment", Strength.OPERATING,
                         scope.locator("metrics", "serving", framework), attributes,
                         f"{framework} serving metrics scraped ({shown})")
