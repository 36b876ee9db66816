"""Prometheus and Alertmanager probe: rules (model monitoring vs operational), scrape targets,
model-serving and drift metrics, recently fired alerts, alert routing and alert-driven
remediation (webhooks that start pipelines).

Read-only GETs on the Prometheus HTTP API (``/api/v1``) and Alertmanager's ``/api/v2/status``
through the shared transport (:mod:`auditor.http`), imported when a target runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from auditor.evidence import Evidence, Unobserved
from auditor.probe import Probe, ProbeContext, Target
from probes.prometheus.settings import PrometheusSettings
from probes.prometheus.signals import ALL_SIGNALS

__all__ = ["ALL_SIGNALS", "PrometheusProbe", "PrometheusSettings"]


class PrometheusProbe(Probe):
    kind: ClassVar[str] = "prometheus"
    signals: ClassVar[tuple[str, ...]] = ALL_SIGNALS
    settings_model = PrometheusSettings
    description: ClassVar[str] = ("Prometheus/Alertmanager: model-monitoring and operational "
                                  "rules, serving and drift metrics, alert routing, "
                                  "alert-driven remediation")
    default_timeout: ClassVar[float] = 120.0

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        if argument.startswith("prometheus+http://") or argument.startswith("prometheus+https://"):
            return {"url": argument.removeprefix("prometheus+")}
        return None

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from probes.prometheus.collect import collect

        return collect(target, ctx)
