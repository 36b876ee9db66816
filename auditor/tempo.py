"""Operational tempo: measured rates and ages from ``tempo.*`` evidence, per scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import median
from typing import Any

from auditor.evidence import Evidence
from auditor.probe import Target
from auditor.reach import scopes_for

_SUMMED_UNITS = {"per_week", "per_month", "count"}


def build(evidence: Sequence[Evidence], targets: Sequence[Target]) -> list[dict[str, Any]]:
    per_target: dict[str, dict[str, tuple[float, str, str]]] = defaultdict(dict)
    for ev in evidence:
        if not ev.signal.startswith("tempo."):
            continue
        value = ev.attributes.get("value")
        if not isinstance(value, (int, float)):
            continue
        metric = ev.signal.split(".", 1)[1]
        unit = str(ev.attributes.get("unit", ""))
        # A target may report one metric several times (several models): keep the sum or the max age.
        if metric in per_target[ev.target]:
            old, _, _ = per_target[ev.target][metric]
            value = old + value if unit in _SUMMED_UNITS else max(old, value)
        per_target[ev.target][metric] = (float(value), unit, ev.id)
    rows = []
    for scope, names in scopes_for(targets).items():
        metrics: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
        for n in names:
            for metric, item in per_target.get(n, {}).items():
                metrics[metric].append(item)
        for metric in sorted(metrics):
            items = metrics[metric]
            unit = items[0][1]
            values = [v for v, _, _ in items]
            value = sum(values) if unit in _SUMMED_UNITS else median(values)
            rows.append({"scope": scope.to_dict(), "metric": metric, "value": round(value, 2),
                         "unit": unit, "evidence": sorted(i for _, _, i in items)})
    return rows
