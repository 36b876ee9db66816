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

from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from auditor.engine import CITE_LIMIT, Smallest
from auditor.evidence import Evidence
from auditor.probe import Target
from auditor.reach import ORG, Scope

_SUMMED_UNITS = {"per_week", "per_month", "count"}

#: how a metric combines across targets (and repeated reports within one): default by unit
COMBINE: dict[str, str] = {
    "days_since_last_commit": "most_recent",
    "image_age_days": "most_recent",
    "production_model_age_days": "oldest",
    "promotion_lead_time_days": "median",
    "active_authors": "distinct",
}

_FUNCS: dict[str, Callable[[Sequence[float]], float]] = {
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


class _Combined:
    """One metric of one scope, its targets' figures combined as each arrives (in name
    order): what its row needs, not the figures."""

    __slots__ = ("unit", "how", "values", "identities", "windows", "ids", "lower_bound", "targets")

    def __init__(self, metric: str, unit: str):
        self.unit = unit  # the first target's, by name
        self.how = _combine(metric, unit)
        self.values = array("d")               # each target's own figure, 8 bytes each
        self.identities: set[str] | None = set()
        self.windows: set[int] = set()
        # the evidence cited, as a capability result cites it: the first CITE_LIMIT ids
        # (a team's or the organisation's row stands for every target's figure)
        self.ids = Smallest(CITE_LIMIT)
        self.lower_bound = False
        self.targets = 0

    def add(self, fig: _Figure) -> None:
        # within a target a summed metric adds up; otherwise the same rule applies (distinct
        # people fall back to a sum when some report names none)
        how = "sum" if self.how == "distinct" else self.how
        self.values.append(_FUNCS[how](fig.values))
        if fig.identities is None or self.identities is None:
            self.identities = None
        else:
            self.identities |= fig.identities
        self.windows |= fig.windows
        for i in fig.ids:
            self.ids.add(i)
        self.lower_bound |= fig.lower_bound
        self.targets += 1

    def row(self, scope: Scope, metric: str) -> dict[str, Any]:
        how = self.how
        if how == "distinct" and self.identities is not None:
            value = float(len(self.identities))
        else:
            how = "sum" if how == "distinct" else how
            value = _FUNCS[how](self.values)
        windows = sorted(self.windows)
        row: dict[str, Any] = {
            "scope": scope.to_dict(), "metric": metric, "value": _number(value),
            "unit": self.unit, "combined": how, "targets": self.targets,
            "window_days": windows[0] if len(windows) == 1 else None,
            "evidence": list(self.ids.values),
        }
        if self.lower_bound:
            row["lower_bound"] = True
        return row


class Tempo:
    """Every scope's tempo rows, a target at a time: :meth:`add` gives the target's own rows
    and folds its figures into its team's and the organisation's; :meth:`rest` gives
    theirs. Targets come in name order (each scope combines its targets by name)."""

    def __init__(self, targets: Sequence[Target]):
        self.team_of = {t.name: t.team for t in targets}
        self.scopes: dict[Scope, dict[str, _Combined]] = {
            Scope("team", team): {} for team in sorted({t.team for t in targets if t.team})}
        self.scopes[ORG] = {}

    def add(self, name: str, evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
        mine = _per_target(evidence).get(name, {})
        team = self.team_of.get(name)
        out = []
        for metric in sorted(mine):
            fig = mine[metric]
            own = _Combined(metric, fig.unit)
            own.add(fig)
            out.append(own.row(Scope("target", name), metric))
            for scope in (Scope("team", team) if team else None, ORG):
                if scope is not None:
                    metrics = self.scopes[scope]
                    if metric not in metrics:  # the first target by name gives the unit
                        metrics[metric] = _Combined(metric, fig.unit)
                    metrics[metric].add(fig)
        return out

    def rest(self) -> list[dict[str, Any]]:
        return [acc.row(scope, metric) for scope, metrics in self.scopes.items()
                for metric, acc in sorted(metrics.items())]
