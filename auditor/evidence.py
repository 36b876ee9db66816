"""The facts probes report: Evidence (something seen) and Unobserved (something not seen, and why)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
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
        """The record (its ``attributes`` are this evidence's own, not a copy: a fleet's
        assessment holds a hundred thousand of them)."""
        return {
            "id": self.id,
            "signal": self.signal,
            "strength": str(self.strength),
            "target": self.target,
            "locator": self.locator,
            "attributes": self.attributes,
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Unobserved:
        return cls(target=data["target"], probe=data["probe"], what=data["what"],
                   reason=data["reason"], signals=tuple(data.get("signals", ())))


@dataclass(frozen=True, slots=True)
class Holdings:
    """What a target holds that other sources may refer to (a repository's commits), recorded
    so links can be resolved later and elsewhere: by ``assess`` over evidence collected in
    other shards, with no access to the target.

    :meth:`evidence` is the one construction of the fact "this target holds ``item``": a
    probe's ``resolve_links`` uses it too, so a link resolved from holdings is the same
    evidence, with the same id, as one resolved by asking the target. ``items`` are lower
    case; beyond a probe's cap, ``truncated`` says that some were left out (the newest kept).
    """

    target: str
    probe: str
    prefix: str                  # the link-key prefix items answer: ``commit:``
    signal: str                  # ``vcs.commit``
    strength: Strength
    locator: str                 # the holder; an item's evidence sits at ``<locator>@<item>``
    attributes: Mapping[str, Any] = field(default_factory=dict)  # beside ``link_keys``
    items: frozenset[str] = frozenset()
    truncated: bool = False
    observed_at: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strength", Strength.parse(self.strength))
        object.__setattr__(self, "locator", redact(self.locator))
        object.__setattr__(self, "items", frozenset(i.lower() for i in self.items))

    def evidence(self, item: str, key: str) -> Evidence:
        """The fact that this target holds ``item``, which others refer to as ``key``."""
        return Evidence(signal=self.signal, strength=self.strength, target=self.target,
                        locator=f"{self.locator}@{item}",
                        attributes={"link_keys": [key], **self.attributes},
                        observed_at=self.observed_at)

    def resolve(self, keys: Iterable[str] | KeyIndex) -> Iterator[Evidence]:
        """Evidence for every key (``commit:<sha>``) whose item this target holds; pass a
        :class:`KeyIndex` when asking many holders about the same keys."""
        wanted = (keys if isinstance(keys, KeyIndex) else KeyIndex(keys)).items(self.prefix)
        if len(wanted) <= len(self.items):
            hits = [item for item in wanted if item in self.items]
        else:
            hits = [item for item in self.items if item in wanted]
        for item in sorted(hits):
            for key in wanted[item]:
                yield self.evidence(item, key)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "probe": self.probe, "prefix": self.prefix,
                "signal": self.signal, "strength": str(self.strength), "locator": self.locator,
                "attributes": dict(self.attributes), "observed_at": self.observed_at,
                "truncated": self.truncated, "count": len(self.items),
                "items": sorted(self.items)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Holdings:
        return cls(target=data["target"], probe=data["probe"], prefix=data["prefix"],
                   signal=data["signal"], strength=Strength.parse(data["strength"]),
                   locator=data["locator"], attributes=data.get("attributes", {}),
                   items=frozenset(data.get("items", ())), truncated=bool(data.get("truncated")),
                   observed_at=data.get("observed_at", ""))


class KeyIndex:
    """Referenced link keys by prefix and item (lower case): built once, asked per holder."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = sorted(set(keys))
        self._by_prefix: dict[str, dict[str, list[str]]] = {}

    def items(self, prefix: str) -> dict[str, list[str]]:
        """item → the keys naming it (``commit:ABC…`` and ``commit:abc…`` name one commit)."""
        if prefix not in self._by_prefix:
            found: dict[str, list[str]] = {}
            for key in self._keys:
                if key.startswith(prefix):
                    found.setdefault(key[len(prefix):].lower(), []).append(key)
            self._by_prefix[prefix] = found
        return self._by_prefix[prefix]
