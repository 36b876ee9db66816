"""Cross-source links: a ``links_to`` key on one piece of evidence that matches a
``link_keys`` key on another (a run's commit found in an audited repository, a deployed
image found in an audited registry, a served model found in the registry)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.evidence import Evidence, Strength

_KIND = {"commit": "commit", "image": "image", "image-digest": "image", "model": "model"}


@dataclass(frozen=True)
class Link:
    """A reference from one piece of evidence to another (a commit, an image, a model) resolved."""

    kind: str          # commit | image | model
    key: str
    source: Evidence   # what refers
    target: Evidence   # what is referred to
    strength: Strength

    @property
    def signal(self) -> str:
        return f"link.{self.kind}"

    @property
    def targets(self) -> set[str]:
        return {self.source.target, self.target.target}

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "key": self.key,
            "from": self.source.id,
            "to": self.target.id,
            "from_target": self.source.target,
            "to_target": self.target.target,
            "strength": str(self.strength),
        }


def _keys(ev: Evidence, attr: str) -> list[str]:
    value = ev.attributes.get(attr) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def refers(ev: Evidence) -> bool:
    """Whether this evidence refers to something (``links_to``) or belongs to an origin (an
    experiment) that follows its runs: links start from it, whatever else was collected."""
    attrs = ev.attributes
    return "links_to" in attrs or "origin" in attrs


def referable(ev: Evidence) -> bool:
    """Whether something may refer to this evidence (``link_keys``: a commit, an image). Only
    those that something does refer to matter: see :func:`referred`."""
    return "link_keys" in ev.attributes and not refers(ev)


def referred(evidence: Iterable[Evidence], keys: set[str]) -> list[Evidence]:
    """The evidence holding one of ``keys`` (the keys referred to): the rest can be in no
    link, so a fleet's commits are not all held to find the few its runs cite."""
    return [ev for ev in evidence if any(k in keys for k in _keys(ev, "link_keys"))]


def referenced_keys(evidence: Iterable[Evidence], prefix: str = "") -> list[str]:
    """Every ``links_to`` key (optionally with a prefix such as ``commit:``), sorted."""
    return sorted({k for ev in evidence for k in _keys(ev, "links_to") if k.startswith(prefix)})


def resolve(evidence: Iterable[Evidence]) -> list[Link]:
    items = list(evidence)
    holders: dict[str, list[Evidence]] = defaultdict(list)
    for ev in items:
        for key in _keys(ev, "link_keys"):
            holders[key].append(ev)
    links: dict[tuple[str, str], Link] = {}
    for ev in items:
        for key in _keys(ev, "links_to"):
            for other in holders.get(key, ()):
                if other.id == ev.id or (ev.id, other.id) in links:
                    continue
                kind = _KIND.get(key.split(":", 1)[0], "other")
                links[(ev.id, other.id)] = Link(kind, key, ev, other, min(ev.strength, other.strength))
    return sorted(links.values(), key=lambda link: (link.kind, link.key, link.source.id, link.target.id))
