"""Operational tempo: measured rates and ages from ``tempo.*`` evidence, per scope.

Each figure says how it was combined across the scope's targets and over which window it
was measured, so a team's numbers add up:

- rates (per week, per month) are summed;
- recency (days since the last commit, age of the newest image) is the most recent, not an
  average: a team is as active as its most active repository;
- the age of production models is the oldest (the stale model is the finding);
- lead times are medians;
- active authors are counted once per person across repositories, by the hashed
  identities the probe reports (summed only when a probe reports none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from auditor.evidence import Evidence
from auditor.probe import Target
from auditor.reach import scopes_for

_SUMMED_UNITS = {"per_week", "per_month", "count"}

#: how a metric combines across targets (and repeated reports within one): default by unit
COMBINE: dict[str, str] = {
    "days_since_last_commit": "most_recent",
    "image_age_days": "most_recent",
    "production_model_age_days": "oldest",
    "promotion_lead_time_days": "median",
    "active_authors": "distinct",
}

_FUNCS: dict[str, Callable[[list[float]], float]] = {
    "sum": sum, "most_recent": min, "oldest": max, "median": median,
}


def _combine(metric: str, unit: str) -> str:
    return COMBINE.get(metric) or ("sum" if unit in _SUMMED_UNITS else "median")


@dataclass
class _Figure:
    """One metric of one target (several reports of it already combined)."""

    values: list[float]
    unit: str
    ids: list[str]
    windows: set[int] = field(default_factory=set)
    identities: set[str] | None = field(default_factory=set)  # None: some report had none
    lower_bound: bool = False


def _per_target(evidence: Sequence[Evidence]) -> dict[str, dict[str, _Figure]]:
    out: dict[str, dict[str, _Figure]] = defaultdict(dict)
    for ev in evidence:
        if not ev.signal.startswith("tempo."):
            continue
        value = ev.attributes.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        metric = ev.signal.split(".", 1)[1]
        unit = str(ev.attributes.get("unit", ""))
        fig = out[ev.target].setdefault(metric, _Figure([], unit, []))
        fig.values.append(float(value))
        fig.ids.append(ev.id)
        window = ev.attributes.get("window_days")
        if isinstance(window, int) and not isinstance(window, bool):
            fig.windows.add(window)
        ids = ev.attributes.get("identities")
        if isinstance(ids, list) and fig.identities is not None:
            fig.identities |= {str(i) for i in ids}
        else:
            fig.identities = None
        fig.lower_bound |= bool(ev.attributes.get("lower_bound"))
    return out


def _number(value: float) -> float | int:
    """Rounded to 2 places; a whole number as an int (1 author, not 1.0)."""
    value = round(value, 2)
    return int(value) if value.is_integer() else value


def figures(evidence: Sequence[Evidence]) -> dict[str, dict[str, _Figure]]:
    """Each target's figures (several reports of one metric combined): what :func:`rows`
    needs of its evidence, gathered a target at a time by a caller that does not hold all of
    it."""
    return _per_target(evidence)


def build(evidence: Sequence[Evidence], targets: Sequence[Target]) -> list[dict[str, Any]]:
    return rows(_per_target(evidence), targets)


def rows(per_target: dict[str, dict[str, _Figure]], targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Every scope's tempo rows from its targets' :func:`figures`."""
    rows = []
    for scope, names in scopes_for(targets).items():
        figures: dict[str, list[_Figure]] = defaultdict(list)
        for n in sorted(names):
            for metric, fig in per_target.get(n, {}).items():
                figures[metric].append(fig)
        for metric in sorted(figures):
            figs = figures[metric]
            unit = figs[0].unit
            how = _combine(metric, unit)
            identities = [f.identities for f in figs]
            if how == "distinct" and all(i is not None for i in identities):
                value = float(len(set().union(*identities)))  # type: ignore[arg-type]
            else:
                how = "sum" if how == "distinct" else how
                # within a target a summed metric adds up; otherwise the same rule applies
                value = _FUNCS[how]([_FUNCS[how](f.values) for f in figs])
            windows = sorted({w for f in figs for w in f.windows})
            row: dict[str, Any] = {
                "scope": scope.to_dict(), "metric": metric, "value": _number(value),
                "unit": unit, "combined": how, "targets": len(figs),
                "window_days": windows[0] if len(windows) == 1 else None,
                "evidence": sorted(i for f in figs for i in f.ids),
            }
            if any(f.lower_bound for f in figs):
                row["lower_bound"] = True
            rows.append(row)
    return rows
