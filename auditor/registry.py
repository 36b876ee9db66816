"""Discovery of probes and report formats through entry points (built-ins included)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

PROBE_GROUP = "mlops_auditor.probes"
REPORT_GROUP = "mlops_auditor.reports"


@dataclass
class Loaded:
    name: str
    value: str
    obj: Any = None
    error: str | None = None


@cache
def _load_group(group: str) -> dict[str, Loaded]:
    found: dict[str, Loaded] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        item = Loaded(ep.name, ep.value)
        try:
            item.obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the audit
            item.error = f"{type(exc).__name__}: {exc}"
        found[ep.name] = item
    return found


def probes() -> dict[str, Loaded]:
    """Installed probes by target kind; a probe that failed to import carries ``error``."""
    return _load_group(PROBE_GROUP)


def probe_for(kind: str) -> Any:
    """An instance of the probe for this target kind, or None."""
    item = probes().get(kind)
    return item.obj() if item is not None and item.obj is not None else None


def project_kinds() -> set[str]:
    """Target kinds whose targets are ML projects with a placement of their own (``git``)."""
    return {kind for kind, item in probes().items()
            if item.obj is not None and getattr(item.obj, "project", False)}


def observes() -> dict[str, tuple[str, ...]]:
    """Target kind → capability ids a plugin probe declares it can show the absence of."""
    return {kind: tuple(item.obj.observes) for kind, item in probes().items()
            if item.obj is not None and getattr(item.obj, "observes", ())}


def reports() -> dict[str, Loaded]:
    return _load_group(REPORT_GROUP)
