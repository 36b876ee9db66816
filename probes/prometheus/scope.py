"""What every collector needs: the target, the context, the client, and evidence helpers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target
from probes.prometheus.client import ApiClient
from probes.prometheus.settings import PrometheusSettings
from probes.prometheus.signals import METRIC_SIGNALS, ROUTING_SIGNALS, RULE_SIGNALS

__all__ = ["METRIC_SIGNALS", "ROUTING_SIGNALS", "RULE_SIGNALS", "Scope", "quote"]


def quote(part: str) -> str:
    """A locator path segment (group names may hold ``/`` and spaces)."""
    return urllib.parse.quote(part, safe="")


@dataclass
class Scope:
    target: Target
    ctx: ProbeContext
    settings: PrometheusSettings
    client: ApiClient
    host: str  # host[:port] of Prometheus, for locators

    def locator(self, *path: str) -> str:
        return f"prometheus://{self.host}" + "".join("/" + quote(p) for p in path)

    def evidence(self, signal: str, strength: Strength, locator: str,
                 attributes: Mapping[str, Any], excerpt: str = "") -> Evidence:
        return self.ctx.evidence(self.target, signal, strength, locator, dict(attributes), excerpt)

    def unobserved(self, what: str, reason: str, signals: Sequence[str] = ()) -> Unobserved:
        return self.ctx.unobserved(self.target, what=what, reason=reason, signals=signals)
