"""What every discoverer shares: the common ``discover:`` keys, what a discoverer returns,
include/exclude selection, safe names and labels."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field

from auditor.config import _Strict

#: most targets one discovery produces (more is reported, and the first ones are audited)
MAX_TARGETS = 10_000
#: longest generated name; a longer one is cut and made unique with a hash of its subject
MAX_NAME = 100


class Spec(_Strict):
    """Keys every ``discover:`` mapping accepts besides the kind's own."""

    #: how a target is named from the fields the kind offers (``{path}``, ``{context}`` ...)
    name_format: str | None = None
    #: label → regular expression over the discovered name/path; the group named after the
    #: label (else the first group, else the whole match) is the value
    labels_from: dict[str, str] = {}
    #: YAML mapping of names or globs to labels (``team-a/*: {team: a}``; a plain string
    #: value is the team); the first pattern that matches wins
    labels_file: str | None = None
    max_targets: int = Field(default=MAX_TARGETS, ge=1, le=100_000)
    #: seconds for the discovery itself (listing accounts, a registry catalog)
    timeout: float = Field(default=60.0, gt=0)

    def selector(self) -> Selector:
        return Selector(("*",), ())


@dataclass(frozen=True)
class Found:
    """One thing discovered."""

    #: values ``name_format`` may use (``path``, ``name``, ``id`` ...)
    fields: Mapping[str, str]
    #: what include/exclude globs, ``labels_from`` and ``labels_file`` are matched against
    subjects: tuple[str, ...]
    #: the target settings that make it a target (``path``, ``context``, ``role_arn`` ...)
    settings: Mapping[str, Any]
    #: stable and unique within the discovery: the input of a disambiguating hash
    key: str


@dataclass
class Result:
    found: list[Found] = field(default_factory=list)
    #: one line each; any problem makes the discovery's own target "not observed"
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Selector:
    """Include and exclude globs (``fnmatch``: ``*`` also matches ``/``)."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def excluded(self, subjects: Iterable[str]) -> bool:
        return any(fnmatchcase(s, g) for s in subjects for g in self.exclude)

    def wants(self, subjects: Sequence[str]) -> bool:
        return (any(fnmatchcase(s, g) for s in subjects for g in self.include)
                and not self.excluded(subjects))


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def safe_name(text: str) -> str:
    """A target name from any text: ``[A-Za-z0-9_.-]``, starting and ending with a letter
    or digit, no ``..``, at most :data:`MAX_NAME` characters. ``/`` and other characters
    become ``-``, so no name looks like a path."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)
    name = re.sub(r"\.{2,}", ".", name).strip("-._") or "target"
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 9].rstrip("-._") + "-" + short_hash(text)
    return name


@dataclass
class Labeller:
    """Labels of a discovered target: the entry's ``labels``, then ``labels_from`` patterns,
    then the first matching ``labels_file`` entry (later ones override earlier ones)."""

    static: Mapping[str, str]
    patterns: Sequence[tuple[str, re.Pattern[str]]] = ()
    mapping: Sequence[tuple[str, Mapping[str, str]]] = ()

    def labels(self, subjects: Sequence[str]) -> dict[str, str]:
        out = dict(self.static)
        for label, pattern in self.patterns:
            for subject in subjects:
                match = pattern.search(subject)
                if match is None:
                    continue
                groups = match.groupdict()
                value = groups.get(label) if label in groups else (
                    match.group(1) if pattern.groups else match.group(0))
                if value:
                    out[label] = value
                break
        for glob, labels in self.mapping:
            if any(s == glob or fnmatchcase(s, glob) for s in subjects):
                out.update(labels)
                break
        return out
