"""Turning ``discover:`` entries into targets.

For each entry: validate its keys (a mistake stops the run, with file, line and key, as for
any target), check the settings every generated target will share by building one
placeholder target, run the kind's discoverer, select, name, label and build each target.
What went wrong while looking (not in the file: a missing root, a refused API) becomes the
entry's own :class:`~auditor.discovery.Undiscovered` target and a warning.

Names. A generated name comes from ``name_format`` (per-kind default) made safe by
:func:`~auditor.discovery.base.safe_name`. Two things discovered with the same name both get
``-<hash of what they are>``, as does one whose name a listed target already has — unless
that listed target audits the very same thing (same repository path, context, role or
registry repository): then the listed one wins and the discovered one is dropped, so a
repository can be listed by hand for its own settings and still sit under a discovered root.
"""

from __future__ import annotations

import importlib
import logging
import re
import string
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import Field, ValidationError

from auditor import registry
from auditor.config import (
    ConfigError,
    _against,
    _first_error,
    _resolve_paths,
    _Strict,
    _where,
    build_target,
)
from auditor.discovery import Undiscovered
from auditor.discovery.base import Found, Labeller, Result, safe_name, short_hash
from auditor.probe import ProbeContext, Target
from auditor.yamlload import load_user

log = logging.getLogger("mlops_auditor.discovery")

#: target kind → the module that discovers it
KINDS = {"git": "auditor.discovery.git", "kubernetes": "auditor.discovery.kube",
         "aws": "auditor.discovery.aws", "oci": "auditor.discovery.oci"}
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: keys of a discovery entry itself; every other key is a setting of each generated target
HEAD = ("name", "kind", "labels", "timeout", "discover")


class EntryHead(_Strict):
    #: names the discovery: its failures are reported as a target of this name
    name: str | None = Field(default=None, pattern=NAME)
    kind: str
    labels: dict[str, str] = {}
    timeout: float | None = Field(default=None, gt=0)
    discover: dict[str, Any]


class _Entry:
    """One ``discover:`` entry, validated."""

    def __init__(self, index: int, raw: dict[str, Any], base: Path, file: str,
                 lines: dict[tuple, int]) -> None:
        self.index, self.file, self.lines = index, file, lines
        self.loc: tuple = ("targets", index)
        head_raw = {k: raw[k] for k in HEAD if k in raw}
        try:
            self.head = EntryHead.model_validate(head_raw)
        except ValidationError as exc:
            raise ConfigError(_first_error(exc, file, lines, self.loc)) from None
        if self.head.kind not in KINDS:
            self.fail(("kind",), f"kind {self.head.kind!r} cannot be discovered "
                                 f"(discovery knows: {', '.join(KINDS)})")
        self.module: ModuleType = importlib.import_module(KINDS[self.head.kind])
        try:
            spec = self.module.SPEC.model_validate(self.head.discover)
        except ValidationError as exc:
            raise ConfigError(_first_error(exc, file, lines, (*self.loc, "discover"),
                                           self.module.SPEC)) from None
        paths = {k: _against(base, v) for k in ("root", "kubeconfig", "labels_file")
                 if isinstance(v := getattr(spec, k, None), str) and v}
        self.spec = spec.model_copy(update=paths)
        self.template = _resolve_paths({k: v for k, v in raw.items() if k not in HEAD}, base)
        for key in self.template:
            if key in self.module.GENERATED:
                self.fail((key,), "set by discovery for each target found; "
                                  "remove it (or put it under discover:)")
        # every generated target shares these settings: check them now, found or not
        probe = build_target({"name": "discovered", "kind": self.head.kind, **self.template,
                              **self.module.placeholder(self.spec)}, file, lines, self.loc)
        self.settings = probe.settings
        self.format = self.spec.name_format or self.module.NAME_FORMAT
        self._check_format()
        self.labeller = Labeller(dict(self.head.labels), self._patterns(), self._mapping())

    def fail(self, key: tuple, message: str) -> None:
        loc = (*self.loc, *key)
        dotted = ".".join(str(p) for p in loc)
        raise ConfigError(f"{_where(self.file, self.lines, loc)}: {dotted}: {message}")

    def _check_format(self) -> None:
        try:
            used = [f for _, f, _, _ in string.Formatter().parse(self.format) if f is not None]
        except ValueError as exc:
            self.fail(("discover", "name_format"), f"not a name format: {exc}")
        unknown = [f for f in used if f not in self.module.FIELDS]
        if unknown or not used:
            self.fail(("discover", "name_format"),
                      f"use one or more of {', '.join('{' + f + '}' for f in self.module.FIELDS)}"
                      + (f" (not {{{unknown[0]}}})" if unknown else ""))

    def _patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        out = []
        for label, text in self.spec.labels_from.items():
            try:
                out.append((label, re.compile(text)))
            except re.error as exc:
                self.fail(("discover", "labels_from", label), f"not a regular expression: {exc}")
        return out

    def _mapping(self) -> list[tuple[str, dict[str, str]]]:
        path = self.spec.labels_file
        if not path:
            return []
        where = ("discover", "labels_file")
        try:
            data = load_user(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            self.fail(where, f"{path}: cannot read: {exc.strerror or exc}")
        except Exception as exc:  # YAML errors, too deep
            self.fail(where, f"{path}: invalid YAML: {getattr(exc, 'problem', None) or exc}")
        if not isinstance(data, dict):
            self.fail(where, f"{path}: expected a mapping of names or globs to labels")
        out = []
        for pattern, labels in data.items():
            if isinstance(labels, str | int | float):
                labels = {"team": labels}
            if not isinstance(labels, dict) or not all(isinstance(v, str | int | float) and
                                                       not isinstance(v, bool)
                                                       for v in labels.values()):
                self.fail(where, f"{path}: {pattern}: expected labels (a mapping) or a team name")
            out.append((str(pattern), {str(k): str(v) for k, v in labels.items()}))
        return out

    @property
    def name(self) -> str:
        return self.head.name or f"{self.head.kind}-discovery"

    def run(self) -> Result:
        ctx = ProbeContext(probe=self.head.kind, cache_dir=Path(tempfile.gettempdir()),
                           timeout=self.spec.timeout)
        started = time.monotonic()
        try:
            result = self.module.discover(self.spec, self.settings, ctx)
        except Exception as exc:  # a discoverer must not end the run: it reports
            result = Result(problems=[f"{type(exc).__name__}: {exc}"])
        select = self.spec.selector()
        result.found = [f for f in result.found if select.wants(f.subjects)]
        limit = self.spec.max_targets
        if len(result.found) > limit:
            result.problems.append(f"{len(result.found)} found, more than discover.max_targets "
                                   f"({limit}): the first {limit} are audited")
            result.found = result.found[:limit]
        log.info("discovery %s: %d %s in %.2fs", self.name, len(result.found),
                 self.module.describe(self.spec), time.monotonic() - started)
        for problem in result.problems:
            log.warning("discovery %s (%s): %s", self.name, self.module.describe(self.spec),
                        problem)
        return result

    def target(self, name: str, found: Found) -> Target:
        raw = {"name": name, "kind": self.head.kind, **self.template, **found.settings,
               "labels": self.labeller.labels(found.subjects)}
        if self.head.timeout is not None:
            raw["timeout"] = self.head.timeout
        return build_target(raw, self.file, self.lines, self.loc)

    def failure(self, name: str, problems: list[str]) -> Target:
        item = registry.probes().get(self.head.kind)
        signals = tuple(getattr(item.obj, "signals", ())) if item is not None else ()
        return Target(name=name, kind=self.head.kind, labels=dict(self.head.labels),
                      settings=Undiscovered(f"discovery of {self.module.describe(self.spec)}",
                                            tuple(problems), signals),
                      timeout=self.head.timeout)


def _unique(name: str, key: str, taken: set[str]) -> str:
    candidate = f"{name}-{short_hash(key)}"
    n = 2
    while candidate in taken:
        candidate, n = f"{name}-{short_hash(key)}-{n}", n + 1
    return candidate


def expand(listed: list[Target], entries: list[tuple[int, dict[str, Any]]], base: Path,
           file: str, lines: dict[tuple, int]) -> list[Target]:
    """``listed`` followed by the targets each entry discovers, in entry order."""
    parsed = [_Entry(i, raw, base, file, lines) for i, raw in entries]  # all checked first
    taken = {t.name for t in listed}
    known = {i for t in listed if (i := _identity(t)) is not None}
    out = list(listed)
    for entry in parsed:
        result = entry.run()
        named = [(safe_name(entry.format.format_map(f.fields)), f) for f in result.found]
        counts: dict[str, int] = {}
        for name, _ in named:
            counts[name] = counts.get(name, 0) + 1
        for name, found in named:
            identity = entry.module.identity(found.settings)
            if identity in known:
                continue  # a listed (or earlier discovered) target audits it already
            known.add(identity)
            if counts[name] > 1 or name in taken:
                name = _unique(name, found.key, taken)
            taken.add(name)
            out.append(entry.target(name, found))
        if result.problems:
            name = entry.name if entry.name not in taken else _unique(entry.name, entry.name, taken)
            taken.add(name)
            out.append(entry.failure(name, result.problems))
    return out


def _identity(target: Target) -> tuple | None:
    """What a listed target audits, comparable with a discovered one (None: not comparable)."""
    module = KINDS.get(target.kind)
    if module is None:
        return None
    return importlib.import_module(module).identity(target.settings)
