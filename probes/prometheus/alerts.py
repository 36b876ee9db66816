"""Alerts that fired lately: one bounded instant query over ``ALERTS``."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from typing import Any

import yaml

from auditor.evidence import Unobserved
from auditor.yamlload import load_user
from probes.prometheus.client import ApiError
from probes.prometheus.scope import Scope

MAX_ROWS = 1000
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def recent_alerts(scope: Scope,
                  route_labels: Iterable[str]) -> Generator[Unobserved, None, list[dict[str, str]]]:
    """Yields Unobserved on failure; returns the label sets of alerts that fired within
    ``alerts_lookback`` (kept to ``alertname`` plus the labels the routing tree reads)."""
    keep = sorted({"alertname", *(n for n in route_labels if _LABEL.match(n))} - {"alertstate"})
    query = (f"count by ({', '.join(keep)}) "
             f'(last_over_time(ALERTS{{alertstate="firing"}}[{scope.settings.alerts_lookback}]))')
    try:
        # milliseconds, not whole seconds: rounding down could ask about a moment just before
        # an alert's latest sample and miss it
        data = scope.client.prom("/api/v1/query",
                                 [("query", query), ("time", f"{scope.ctx.now.timestamp():.3f}")])
    except ApiError as exc:
        yield scope.unobserved("recently fired alerts", exc.reason, ())
        return []
    rows: list[Any] = data.get("result", []) if isinstance(data, dict) else []
    if len(rows) > MAX_ROWS:
        yield scope.unobserved("recently fired alerts",
                               f"{len(rows)} alert label sets fired; looked at {MAX_ROWS}", ())
    found = []
    for row in rows[:MAX_ROWS]:
        labels = row.get("metric") if isinstance(row, dict) else None
        if isinstance(labels, dict):
            found.append({str(k): str(v) for k, v in labels.items()})
    return found


def external_labels(scope: Scope) -> dict[str, str]:
    """Prometheus adds these to every alert it sends; routing may match on them."""
    try:
        data = scope.client.prom("/api/v1/status/config")
        config = load_user(data.get("yaml", "")) if isinstance(data, dict) else None
    except (ApiError, yaml.YAMLError, ValueError):  # ValueError: nested too deeply
        return {}
    labels = (config or {}).get("global", {}).get("external_labels") if isinstance(config, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
