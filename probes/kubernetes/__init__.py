"""Kubernetes probe: a live cluster (kubeconfig context or in-cluster) or a snapshot folder.

Both sources feed the same :class:`~probes.kubernetes.classify.Classifier`, so a snapshot
and a live cluster holding the same objects give the same evidence. Live reading is one
paginated cluster-wide LIST per known kind that discovery shows; Secrets are never listed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from auditor.errors import guarded
from auditor.evidence import Evidence, Unobserved
from auditor.probe import Probe, ProbeContext, Target

from .classify import Classifier
from .kinds import ALWAYS_PRESENT, BY_KEY, KINDS, all_signals
from .objects import NamespaceFilter
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
        settings: KubernetesSettings = target.settings or KubernetesSettings()
        classifier = Classifier(target=target.name, cluster=target.name, now=ctx.now,
                                namespaces=NamespaceFilter(settings.namespaces.include,
                                                           settings.namespaces.exclude))
        if settings.snapshot:
            yield from self._snapshot(target, ctx, settings, classifier)
        else:
            yield from self._live(target, ctx, settings, classifier)

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """``k8s:<context>`` audits a kubeconfig context; ``k8s-snapshot:<folder>`` an export."""
        if argument.startswith("k8s:"):
            context = argument.removeprefix("k8s:")
            return {"name": context or "kubernetes", **({"context": context} if context else {})}
        if argument.startswith("k8s-snapshot:"):
            folder = argument.removeprefix("k8s-snapshot:")
            return {"name": Path(folder).name or "kubernetes", "snapshot": folder}
        return None

    # ---- live ----------------------------------------------------------------------------

    def _live(self, target: Target, ctx: ProbeContext, settings: KubernetesSettings,
              classifier: Classifier) -> Iterator[Evidence | Unobserved]:
        from auditor.errors import ProbeError

        from .live import LiveCluster

        what = f"cluster {settings.context or ('in-cluster' if settings.in_cluster else 'current context')}"
        try:
            cluster = LiveCluster(settings, ctx.remaining, ctx.requests)
        except ProbeError as exc:
            yield ctx.unobserved(target, what, exc.reason, self.signals)
            return
        try:
            yield from classifier.version_evidence(cluster.version())
            ctx.check()
            resources = cluster.discover()
            yield from classifier.platform_evidence(resources)
            for spec in KINDS:
                res = resources.get(spec.key)
                if res is None:
                    continue
                ctx.check()
                yield from guarded(ctx, target, f"{spec.kind} objects", spec.signals,
                                   lambda res=res, spec=spec: _listed(cluster, res, spec,
                                                                      classifier, ctx,
                                                                      settings.page_size))
            yield from classifier.finish()
            ctx.log.debug("kubernetes %s: %d requests", target.name, ctx.requests.count)
        except ProbeError as exc:  # fatal: the cluster went out of sight
            yield ctx.unobserved(target, what, exc.reason, self.signals)
        finally:
            cluster.close()

    # ---- snapshot ------------------------------------------------------------------------

    def _snapshot(self, target: Target, ctx: ProbeContext, settings: KubernetesSettings,
                  classifier: Classifier) -> Iterator[Evidence | Unobserved]:
        from .snapshot import BadFile, SnapshotScan, read_snapshot

        folder = Path(settings.snapshot or "").expanduser()
        what = f"snapshot {folder}"
        if not folder.exists():
            yield ctx.unobserved(target, what, "the snapshot folder does not exist", self.signals)
            return
        scan = SnapshotScan()
        count = 0
        for item in read_snapshot(folder, scan):
            if isinstance(item, BadFile):
                yield ctx.unobserved(target, f"snapshot file {item.path}", item.reason)
                continue
            spec = BY_KEY.get((item.group, item.kind))
            if spec is not None:
                yield from classifier.feed(spec, item.obj)
            count += 1
            if count % 500 == 0:
                ctx.check()
        if scan.files == 0:
            yield ctx.unobserved(target, what, "no .yaml/.yml/.json files in the snapshot folder",
                                 self.signals)
            return
        if scan.version:
            yield from classifier.version_evidence(scan.version)
        yield from classifier.platform_evidence(scan.available)
        yield from classifier.finish()
        for kind in ALWAYS_PRESENT:
            if kind not in scan.seen_kinds:
                spec = next(k for k in KINDS if k.kind == kind)
                yield ctx.unobserved(target, f"{kind} objects in {what}",
                                     f"the snapshot holds no {kind} objects (export them with "
                                     f"kubectl get {spec.resource} -A -o yaml)", spec.signals)


def _listed(cluster: Any, res: Any, spec: Any, classifier: Classifier, ctx: ProbeContext,
            page_size: int) -> Iterator[Evidence]:
    """Evidence from one kind's cluster-wide LIST, page by page."""
    for page in cluster.list_pages(res, spec, page_size):
        for obj in page:
            yield from classifier.feed(spec, obj)
        ctx.check()
