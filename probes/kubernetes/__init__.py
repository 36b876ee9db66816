"""Kubernetes probe: a live cluster (kubeconfig context or in-cluster) or a snapshot folder.

Both sources feed the same :class:`~probes.kubernetes.classify.Classifier` (``collect.py``), so a snapshot
and a live cluster holding the same objects give the same evidence. Live reading is one
paginated cluster-wide LIST per known kind that discovery shows; Secrets are never listed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from auditor.evidence import Evidence, Unobserved
from auditor.probe import Probe, ProbeContext, Target

from .kinds import all_signals
from .settings import KubernetesSettings

__all__ = ["KubernetesProbe", "KubernetesSettings"]


class KubernetesProbe(Probe):
    kind: ClassVar[str] = "kubernetes"
    signals: ClassVar[tuple[str, ...]] = all_signals()
    settings_model = KubernetesSettings
    description: ClassVar[str] = ("Kubernetes clusters (live, read-only LIST) or kubectl exports: "
                                  "serving, schedules, pipelines, monitoring, security, cost")

    def prepare(self) -> None:
        """The official client and urllib3, imported once before any target's thread. Not
        installed: snapshots still work, and a live target says what is missing."""
        with contextlib.suppress(ImportError):
            import kubernetes.client
            import kubernetes.config
            import kubernetes.config.config_exception  # noqa: F401
            import urllib3  # noqa: F401

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from .collect import collect

        return collect(target, ctx, self.signals)

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """``k8s:<context>`` audits a kubeconfig context; ``k8s-snapshot:<folder>`` an export."""
        if argument.startswith("k8s:"):
            context = argument.removeprefix("k8s:")
            return {"name": context or "kubernetes", **({"context": context} if context else {})}
        if argument.startswith("k8s-snapshot:"):
            folder = argument.removeprefix("k8s-snapshot:")
            return {"name": Path(folder).name or "kubernetes", "snapshot": folder}
        return None
