"""Tool sprawl and version drift across targets and teams, computed from evidence."""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from auditor.catalog import Taxonomy
from auditor.evidence import Evidence, Strength
from auditor.probe import Target


def _team(targets: dict[str, Target], name: str) -> str:
    t = targets.get(name)
    return (t.team if t else None) or f"(target {name})"


def _minor(version: str) -> str:
    m = re.match(r"v?(\d+)(?:\.(\d+))?", version)
    return f"{m.group(1)}.{m.group(2) or 0}" if m else version


def _versions_in(ev: Evidence) -> list[tuple[str, str, str]]:
    """(kind, name, version) an evidence shows: the pinned Python packages of a repository
    (``env.packages``), a catalogued tool's package version, an image's tag, a server's
    version. A dependency is named by its package, so a tool and its package are one row."""
    attrs = ev.attributes
    if ev.signal == "env.packages":
        pins = attrs.get("versions")
        eco = str(attrs.get("ecosystem") or "package")
        return [("package", str(n), str(v)) for n, v in sorted(pins.items()) if v] \
            if isinstance(pins, dict) and eco == "python" else []
    tool, version = attrs.get("tool"), attrs.get("version")
    if not tool or not version or version in ("unknown", "digest", "latest"):
        return []
    tool = str(tool)
    if tool.startswith(("image:", "base-image:")):
        return [("image", tool, str(version))]
    if ev.signal.startswith("tool."):  # a library the code declares or imports
        return [("package", str(attrs.get("package") or tool), str(version))]
    return [("tool", tool, str(version))]


class Targets:
    """The targets a tool, version or package is seen in, as the positions of their names: four
    bytes a sighting, not a set entry and a name string each (at a thousand repositories that
    was most of what the inventory held). A target's sightings arrive together, so a repeat
    is mostly caught as it comes; :meth:`names` removes any other."""

    __slots__ = ("positions",)

    def __init__(self) -> None:
        self.positions = array("I")

    def add(self, position: int) -> None:
        positions = self.positions
        if not positions or positions[-1] != position:
            positions.append(position)

    def names(self, names: Sequence[str]) -> list[str]:
        return sorted({names[p] for p in self.positions})


class Inventory:
    """Tool sprawl and version drift, folded in as each target's evidence is read (a
    fleet's evidence is never all held): :meth:`add`, then :meth:`result`."""

    def __init__(self, targets: Sequence[Target], taxonomy: Taxonomy):
        self.by_name = {t.name: t for t in targets}
        self.names = [t.name for t in targets]  # a target's position → its name
        self.position = {name: i for i, name in enumerate(self.names)}
        self.taxonomy = taxonomy
        self.usage: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.versions: dict[str, dict[str, Targets]] = defaultdict(lambda: defaultdict(Targets))
        self.seen_as: dict[tuple[str, str], dict[str, Targets]] = defaultdict(lambda: defaultdict(Targets))
        self.unpinned: list[dict[str, Any]] = []

    def _at(self, name: str) -> int:
        """The position of a target's name (one the configuration does not list is added)."""
        at = self.position.get(name)
        if at is None:
            at = self.position[name] = len(self.names)
            self.names.append(name)
        return at

    def add(self, evidence: Iterable[Evidence]) -> None:
        for ev in evidence:
            attrs = ev.attributes
            at = self._at(ev.target)
            if ev.signal.startswith("tool."):  # tools per category, and who uses them
                category = ev.signal.split(".", 1)[1]
                tool = str(attrs.get("tool") or "?")
                entry = self.usage[category].get(tool)
                if entry is None:
                    entry = self.usage[category][tool] = {
                        "tool": tool, "targets": Targets(), "strongest": Strength.DECLARED}
                entry["targets"].add(at)
                entry["strongest"] = max(entry["strongest"], ev.strength)
            for kind, name, version in _versions_in(ev):
                self.seen_as[(kind, name)][version].add(at)
            tool, version = attrs.get("tool"), attrs.get("version")
            if tool and version:
                self.versions[str(tool)][str(version)].add(at)
            if ev.signal == "env.pinned_requirements" and attrs.get("unpinned"):
                self.unpinned.append({"target": ev.target, "locator": ev.locator,
                                      "unpinned": attrs.get("unpinned"),
                                      "packages": attrs.get("unpinned_packages", [])})

    def result(self) -> dict[str, Any]:
        by_name, taxonomy, usage, versions = self.by_name, self.taxonomy, self.usage, self.versions
        names = self.names

        def teams(targets: list[str]) -> list[str]:
            return sorted({_team(by_name, n) for n in targets})

        tools = []
        sprawl = []
        for category in sorted(usage):
            entries = sorted(usage[category].values(), key=lambda e: e["tool"])
            for e in entries:
                used_by = e["targets"].names(names)
                tools.append({"category": category, "category_title": taxonomy.categories.get(category, category),
                              "tool": e["tool"], "targets": used_by, "teams": teams(used_by),
                              "strongest": str(e["strongest"])})
            if len(entries) > 1 and category not in ("deep_learning",):
                sprawl.append({"category": category,
                               "category_title": taxonomy.categories.get(category, category),
                               "tools": [e["tool"] for e in entries]})

        # Versions of the same tool across targets (mismatches), and of each tool, package and
        # image across teams (drift).
        for t in tools:
            t["versions"] = [{"version": v, "targets": (ns := ts.names(names)), "teams": teams(ns)}
                             for v, ts in sorted(versions.get(t["tool"], {}).items())]
        drift = []
        for (kind, name), seen in sorted(self.seen_as.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if len(seen) > 1:
                rows = [{"version": v, "targets": (ns := ts.names(names)), "teams": teams(ns)}
                        for v, ts in sorted(seen.items())]
                drift.append({"tool": name, "kind": kind, "versions": rows,
                              "across_teams": len({team for r in rows for team in r["teams"]}) > 1})

        # Client/server mismatches: "<tool>" declared by code vs "<tool>-server" observed.
        mismatches = []
        for tool in sorted(versions):
            if not tool.endswith("-server"):
                continue
            client = tool.removesuffix("-server")
            server_minors = {_minor(v) for v in versions[tool]}
            for v, ts in sorted(versions.get(client, {}).items()):
                if _minor(v) not in server_minors:
                    mismatches.append({"tool": client, "client_version": v, "targets": ts.names(names),
                                       "server_versions": sorted(versions[tool])})
        return {"tools": tools, "sprawl": sprawl, "drift": drift,
                "client_server_mismatches": mismatches, "unpinned_dependencies": self.unpinned}
