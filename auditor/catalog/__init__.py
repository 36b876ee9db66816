"""The catalog: capabilities, frameworks and the tool taxonomy, as YAML data.

Every run reads it, so its parsed data is kept beside it the way Python keeps bytecode
(:class:`ParsedCache`): parsing the YAML costs a run some 13 ms, reading that cache well
under one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from auditor.evidence import Strength
from auditor.yamlload import load_trusted as _load_yaml
from auditor.yamlload import load_user

CATALOG_DIR = Path(__file__).parent


class ParsedCache:
    """The data of the YAML files under ``root`` by name (``tools.yaml``,
    ``frameworks/seven_stages.yaml``), served from ``file``: JSON holding each file's parsed
    data with a hash of the text it was parsed from. An entry whose file's text hashes
    differently, or data JSON would not give back as it is (a date, a number as a key), is
    parsed from the YAML instead.

    A miss is written back best-effort, like bytecode: not at all when Python is told not to
    write bytecode (``PYTHONDONTWRITEBYTECODE``, ``-B``), and a read-only install simply
    parses every run. :meth:`warm` writes every file's entry whatever that setting says
    (``python -m auditor.catalog``; the container image does it when it is built)."""

    def __init__(self, root: Path, file: Path) -> None:
        self.root = root
        self.file = file
        self._entries: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def data(self, name: str, write: bool | None = None) -> Any:
        """The parsed data of ``root / name`` (shared: not to be changed); ``write``: store
        a miss (default: unless Python writes no bytecode)."""
        if write is None:
            write = not sys.dont_write_bytecode
        text = (self.root / name).read_text(encoding="utf-8")
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
        with self._lock:
            entries = self._read()
            entry = entries.get(name)
            if isinstance(entry, dict) and entry.get("sha1") == digest and "data" in entry:
                return entry["data"]
            data = _load_yaml(text)
            try:
                kept = json.loads(json.dumps(data)) == data
            except (TypeError, ValueError):
                kept = False
            if kept:
                entries[name] = {"sha1": digest, "data": data}
                if write:
                    self._write(entries)
            return data

    def warm(self) -> None:
        """Parse every YAML file under ``root`` and write the cache."""
        for path in sorted(self.root.rglob("*.yaml")):
            self.data(path.relative_to(self.root).as_posix(), write=True)

    def _read(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                entries = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entries = {}
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries

    def _write(self, entries: dict[str, Any]) -> None:
        tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
        try:
            self.file.parent.mkdir(exist_ok=True)
            tmp.write_text(json.dumps(entries, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.file)  # whole or not at all, whoever reads it meanwhile
        except OSError:  # read-only: parsed again next run
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


_PARSED = ParsedCache(CATALOG_DIR, CATALOG_DIR / "__pycache__" / "catalog.json")


def load_data(name: str) -> Any:
    """The parsed data of the catalog file ``name`` (relative to the catalog folder)."""
    return _PARSED.data(name)


def warm() -> None:
    """Write the parsed-catalog cache (see :class:`ParsedCache`)."""
    _PARSED.warm()


@dataclass(frozen=True)
class Matcher:
    """One condition of a capability: evidence of a signal, at least this strong, with these
    attributes, this many times."""

    signal: str
    strength: Strength = Strength.DECLARED
    where: tuple[tuple[str, Any], ...] = ()
    min_count: int = 1

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Matcher:
        return cls(
            signal=raw["signal"],
            strength=Strength.parse(raw.get("strength", "declared")),
            where=tuple(sorted((raw.get("where") or {}).items())),
            min_count=int(raw.get("min_count", 1)),
        )

    def describe(self) -> str:
        text = f"{self.signal} (at least {self.strength})"
        if self.where:
            text += " where " + ", ".join(f"{k}={v}" for k, v in self.where)
        if self.min_count > 1:
            text += f", {self.min_count}+ items"
        return text


Alternative = tuple[Matcher, ...]  # all must match


def _alternatives(raw: list[Any] | None) -> tuple[Alternative, ...]:
    out = []
    for item in raw or []:
        if "all" in item:
            out.append(tuple(Matcher.parse(m) for m in item["all"]))
        else:
            out.append((Matcher.parse(item),))
    return tuple(out)


@dataclass(frozen=True)
class Capability:
    """A capability of the catalog: when it is met or partial (alternatives of matchers), and
    what to do next."""

    id: str
    title: str
    description: str
    next_step: str
    met: tuple[Alternative, ...]
    partial: tuple[Alternative, ...] = ()
    level: str = "project"          # project | platform
    level_reason: str = ""
    observable_from: tuple[str, ...] = ()  # target kinds whose silence means unmet

    def matchers(self) -> list[Matcher]:
        return [m for alt in self.met + self.partial for m in alt]


@dataclass(frozen=True)
class Stage:
    """One stage of a framework: the capabilities it requires (a gate's first)."""

    number: int
    name: str
    requires: tuple[str, ...]
    gate_name: str | None = None
    gate_requires: tuple[str, ...] = ()

    def all_requirements(self) -> tuple[str, ...]:
        return self.gate_requires + self.requires


@dataclass(frozen=True)
class Framework:
    """A maturity model: its stages, lowest first."""

    id: str
    title: str
    description: str
    stages: tuple[Stage, ...]
    source: str = ""


@dataclass(frozen=True)
class Tool:
    """A tool of the taxonomy: its categories and the packages and imports that show it."""

    name: str
    categories: tuple[str, ...]
    packages: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()


@dataclass
class Taxonomy:
    """The tool taxonomy, indexed by name, package and import."""

    categories: dict[str, str] = field(default_factory=dict)
    tools: dict[str, Tool] = field(default_factory=dict)
    by_package: dict[str, Tool] = field(default_factory=dict)
    by_import: dict[str, Tool] = field(default_factory=dict)

    def tool_for_import(self, module: str) -> Tool | None:
        """Longest dotted prefix wins: ``ray.serve`` before ``ray``."""
        parts = module.split(".")
        for n in range(len(parts), 0, -1):
            tool = self.by_import.get(".".join(parts[:n]))
            if tool:
                return tool
        return None


def normalise_package(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


LEVELS = ("project", "platform")


def parse_capability(cid: str, raw: dict[str, Any]) -> Capability:
    level = raw.get("level")
    if level not in LEVELS:
        raise ValueError(f"capability {cid}: level must be one of {', '.join(LEVELS)}, not {level!r}")
    kinds = raw.get("observable_from")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise ValueError(f"capability {cid}: observable_from must list the target kinds whose "
                         f"silence means unmet")
    return Capability(
        id=cid,
        title=raw["title"],
        description=raw.get("description", ""),
        next_step=raw["next_step"],
        met=_alternatives(raw.get("met")),
        partial=_alternatives(raw.get("partial")),
        level=level,
        level_reason=raw.get("level_reason", ""),
        observable_from=tuple(kinds),
    )


@cache
def capabilities() -> dict[str, Capability]:
    data = load_data("capabilities.yaml")
    return {cid: parse_capability(cid, raw) for cid, raw in data["capabilities"].items()}


def parse_framework(data: dict[str, Any], source: str = "") -> Framework:
    known = capabilities()
    stages = []
    for raw in data["stages"]:
        gate = raw.get("gate") or {}
        stage = Stage(
            number=int(raw["number"]),
            name=raw["name"],
            requires=tuple(raw.get("requires", [])),
            gate_name=gate.get("name"),
            gate_requires=tuple(gate.get("requires", [])),
        )
        unknown = [c for c in stage.all_requirements() if c not in known]
        if unknown:
            raise ValueError(f"{source or data.get('id')}: stage {stage.number} requires unknown "
                             f"capabilities: {', '.join(unknown)}")
        stages.append(stage)
    stages.sort(key=lambda s: s.number)
    return Framework(id=data["id"], title=data.get("title", data["id"]),
                     description=data.get("description", ""), stages=tuple(stages), source=source)


@cache
def frameworks() -> dict[str, Framework]:
    out = {}
    for path in sorted((CATALOG_DIR / "frameworks").glob("*.yaml")):
        fw = parse_framework(load_data(f"frameworks/{path.name}"), path.name)
        out[fw.id] = fw
    return out


def load_framework(name_or_path: str) -> Framework:
    """A built-in framework by id, or a user's rubric file (same YAML shape)."""
    builtin = frameworks()
    if name_or_path in builtin:
        return builtin[name_or_path]
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        import yaml

        try:
            return parse_framework(load_user(path.read_text()), str(path))
        except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:  # ValueError: too deep
            raise ValueError(f"{path}: not a framework file: {exc}") from None
    raise ValueError(f"unknown framework {name_or_path!r} (built-in: {', '.join(builtin)})")


@cache
def taxonomy() -> Taxonomy:
    data = load_data("tools.yaml")
    tax = Taxonomy(categories=dict(data["categories"]))
    for name, raw in data["tools"].items():
        tool = Tool(name=name, categories=tuple(raw.get("categories", [])),
                    packages=tuple(normalise_package(p) for p in raw.get("packages", [])),
                    imports=tuple(raw.get("imports", [])))
        tax.tools[name] = tool
        for p in tool.packages:
            tax.by_package[p] = tool
        for i in tool.imports:
            tax.by_import[i] = tool
    return tax
