"""The facts probes report: Evidence (something seen) and Unobserved (something not seen, and why)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from auditor.redact import one_line, redact

EXCERPT_LIMIT = 400


class Strength(IntEnum):
    """How strongly a fact shows a capability: written down < set up < seen running."""

    DECLARED = 1
    CONFIGURED = 2
    OPERATING = 3

    @classmethod
    def parse(cls, value: str | int | Strength) -> Strength:
        if isinstance(value, Strength):
            return value
        if isinstance(value, int):
            return cls(value)
        return cls[value.upper()]

    def __str__(self) -> str:
        return self.name.lower()


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _clean_attr(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _clean_attr(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_clean_attr(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observed fact. Immutable; secrets are redacted on construction.

    ``attributes`` is a small dict of facts (counts, names, versions). Two attribute keys
    have a meaning for the engine: ``link_keys`` (what this thing is, e.g.
    ``image:registry.example.com/churn``) and ``links_to`` (what it refers to); a
    ``links_to`` key that matches another evidence's ``link_keys`` is a cross-source link.
    A third, ``origin``, names the unit inside its target the fact came from (an MLflow
    experiment): when a link attributes one fact to a repository, the facts of the same
    origin follow it.
    """

    signal: str
    strength: Strength
    target: str
    locator: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    excerpt: str = ""
    observed_at: str = field(default_factory=now_iso)
    id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "strength", Strength.parse(self.strength))
        object.__setattr__(self, "locator", redact(self.locator))
        excerpt = redact(self.excerpt or "")
        if len(excerpt) > EXCERPT_LIMIT:
            excerpt = excerpt[: EXCERPT_LIMIT - 1] + "…"
        object.__setattr__(self, "excerpt", excerpt)
        object.__setattr__(self, "attributes", _clean_attr(dict(self.attributes)))
        if not self.id:
            object.__setattr__(self, "id", self.make_id())

    def make_id(self) -> str:
        """Stable across runs: the same fact in the same place gets the same id."""
        key = json.dumps(
            [self.target, self.signal, self.locator, self.attributes], sort_keys=True, default=str
        )
        return "ev-" + hashlib.sha1(key.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "signal": self.signal,
            "strength": str(self.strength),
            "target": self.target,
            "locator": self.locator,
            "attributes": dict(self.attributes),
            "excerpt": self.excerpt,
            "observed_at": self.observed_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            signal=data["signal"],
            strength=Strength.parse(data["strength"]),
            target=data["target"],
            locator=data["locator"],
            attributes=data.get("attributes", {}),
            excerpt=data.get("excerpt", ""),
            observed_at=data.get("observed_at", ""),
            id=data.get("id", ""),
        )


@dataclass(frozen=True, slots=True)
class Unobserved:
    """Something a probe could not look at, and why (one redacted line).

    ``signals`` lists the signal prefixes that could have come from what was not seen;
    a capability whose matchers only such signals could satisfy is ``unknown``, not
    ``unmet``. Leave it empty for things that hide no capability (one unreadable file).
    """

    target: str
    probe: str
    what: str
    reason: str
    signals: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", one_line(self.reason))
        object.__setattr__(self, "what", one_line(self.what, 200))
        object.__setattr__(self, "signals", tuple(sorted(set(self.signals))))

    def covers(self, signal_pattern: str) -> bool:
        """Whether the unseen source could have produced evidence matching this pattern."""
        from auditor.signals import prefix_overlaps

        return any(prefix_overlaps(p, signal_pattern) for p in self.signals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "probe": self.probe,
            "what": self.what,
            "reason": self.reason,
            "signals": list(self.signals),
        }
