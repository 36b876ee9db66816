"""Discovery of probes and report formats through entry points (built-ins included).

Two things keep this cheap on every run:

- Scanning reads ``entry_points.txt`` straight from the ``*.dist-info`` / ``*.egg-info``
  folders on ``sys.path``, in the order and with the de-duplication ``importlib.metadata``
  uses, without importing it (it pulls in the e-mail parser and zip support: tens of
  milliseconds before any work). Where that shortcut could miss a distribution (a zip or egg
  file on ``sys.path``, an import hook that provides distributions) ``importlib.metadata``
  itself is used.
- An entry point is imported when first used (:attr:`Loaded.obj`), so a git-only audit
  imports no other probe and no report module it does not write.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import os
import re
import sys
import threading
from functools import cache
from typing import Any

PROBE_GROUP = "mlops_auditor.probes"
REPORT_GROUP = "mlops_auditor.reports"

#: ``module.path:attr.path [extras]`` (the entry-point value grammar)
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_lock = threading.RLock()


class Loaded:
    """One entry point; ``obj`` (the loaded object) and ``error`` (why it could not be
    loaded) import it on first access: a broken plugin must not break the audit, and an
    unused one costs nothing."""

    def __init__(self, name: str, value: str, obj: Any = None, error: str | None = None) -> None:
        self.name = name
        self.value = value
        self._obj = obj
        self._error = error
        self._done = obj is not None or error is not None

    def _load(self) -> None:
        if self._done:
            return
        with _lock:
            if self._done:
                return
            try:
                self._obj = load_value(self.value)
            except Exception as exc:  # a broken plugin must not break the audit
                self._error = f"{type(exc).__name__}: {exc}"
            self._done = True

    @property
    def loaded(self) -> bool:
        return self._done

    @property
    def obj(self) -> Any:
        self._load()
        return self._obj

    @property
    def error(self) -> str | None:
        self._load()
        return self._error

    def __repr__(self) -> str:
        return f"Loaded({self.name!r}, {self.value!r})"


def load_value(value: str) -> Any:
    """Import what an entry-point value names (``EntryPoint.load``)."""
    match = _VALUE.match(value.strip())
    if match is None:
        raise ValueError(f"not an entry point: {value!r}")
    module = importlib.import_module(match.group("module"))
    attrs = [a for a in (match.group("attr") or "").split(".") if a]
    return functools.reduce(getattr, attrs, module)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _needs_metadata() -> bool:
    """True when a distribution could live somewhere the folder scan does not look."""
    for finder in sys.meta_path:
        if (getattr(finder, "find_distributions", None) is not None
                and finder is not importlib.machinery.PathFinder):
            return True
    return any(entry and os.path.isfile(entry) for entry in sys.path)


def _sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """The ``[group]`` → ``(name, value)`` pairs of an entry_points.txt (INI-like)."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].strip(), [])
        elif current is not None and "=" in line:
            name, _, value = line.partition("=")
            current.append((name.strip(), value.strip()))
    return out


def scan(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of every entry point in ``group``, first distribution of a name on
    ``sys.path`` only, in ``importlib.metadata`` order."""
    if _needs_metadata():
        from importlib.metadata import entry_points

        return [(ep.name, ep.value) for ep in entry_points(group=group)]
    found: list[tuple[str, str]] = []
    for text in _entry_point_files():
        if group in text:
            found += _sections(text).get(group, [])
    return found


#: (the state of ``sys.path`` they were read in, the entry_points.txt texts read)
_read: tuple[tuple[tuple[str, int | None], ...], list[str]] | None = None


def _path_state() -> tuple[tuple[str, int | None], ...]:
    """``sys.path`` with the modification time of each folder on it: a distribution
    installed or removed there since changes its folder's time (as Python's own path finder
    notices new modules)."""
    state = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def _entry_point_files() -> list[str]:
    """The entry_points.txt of the first distribution of each name on ``sys.path``, in
    order; read once for every group (probes, then reports) while ``sys.path`` and its
    folders stay as they were."""
    global _read
    state = _path_state()
    with _lock:
        if _read is not None and _read[0] == state:
            return _read[1]
        texts: list[str] = []
        seen: set[str] = set()
        for entry, _ in state:
            try:
                with os.scandir(entry or ".") as listing:
                    folders = [(child.name, child.path) for child in listing
                               if child.name.lower().endswith((".dist-info", ".egg-info"))
                               and child.is_dir()]
            except OSError:
                continue
            for name, path in folders:
                dist = _normalise(name.rsplit(".", 1)[0].partition("-")[0])
                if dist in seen:
                    continue
                seen.add(dist)
                try:
                    with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as fh:
                        texts.append(fh.read())
                except OSError:
                    continue
        _read = (state, texts)
        return texts


@cache
def _load_group(group: str) -> dict[str, Loaded]:
    found: dict[str, Loaded] = {}
    for name, value in sorted(scan(group), key=lambda item: item[0]):
        found[name] = Loaded(name, value)
    return found


def probes() -> dict[str, Loaded]:
    """Installed probes by target kind; a probe that failed to import carries ``error``."""
    return _load_group(PROBE_GROUP)


def probe_for(kind: str) -> Any:
    """An instance of the probe for this target kind, or None."""
    item = probes().get(kind)
    return item.obj() if item is not None and item.obj is not None else None


def reports() -> dict[str, Loaded]:
    return _load_group(REPORT_GROUP)
