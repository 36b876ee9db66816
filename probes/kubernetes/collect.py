"""The order of work for one Kubernetes target: a live cluster (version, discovery, one
paginated cluster-wide LIST per known kind, each guarded on its own) or a snapshot folder,
both fed to the same classifier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.errors import guarded
from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext, Target

from .classify import Classifier
from .kinds import ALWAYS_PRESENT, BY_KEY, KINDS
from .objects import NamespaceFilter
from .settings import KubernetesSettings


def collect(target: Target, ctx: ProbeContext,
            signals: tuple[str, ...]) -> Iterator[Evidence | Unobserved]:
    settings: KubernetesSettings = target.settings or KubernetesSettings()
    classifier = Classifier(target=target.name, cluster=target.name, now=ctx.now,
                            namespaces=NamespaceFilter(settings.namespaces.include,
                                                       settings.namespaces.exclude))
    if settings.snapshot:
        yield from _snapshot(target, ctx, settings, classifier, signals)
    else:
        yield from _live(target, ctx, settings, classifier, signals)


def _live(target: Target, ctx: ProbeContext, settings: KubernetesSettings,
          classifier: Classifier, signals: tuple[str, ...]) -> Iterator[Evidence | Unobserved]:
    from auditor.errors import ProbeError

    from .live import LiveCluster

    what = f"cluster {settings.context or ('in-cluster' if settings.in_cluster else 'current context')}"
    try:
        cluster = LiveCluster(settings, ctx.remaining, ctx.requests)
    except ProbeError as exc:
        yield ctx.unobserved(target, what, exc.reason, signals)
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
        yield ctx.unobserved(target, what, exc.reason, signals)
    finally:
        cluster.close()

def _snapshot(target: Target, ctx: ProbeContext, settings: KubernetesSettings,
              classifier: Classifier, signals: tuple[str, ...]) -> Iterator[Evidence | Unobserved]:
    from .snapshot import BadFile, SnapshotScan, read_snapshot

    folder = Path(settings.snapshot or "").expanduser()
    what = f"snapshot {folder}"
    if not folder.exists():
        yield ctx.unobserved(target, what, "the snapshot folder does not exist", signals)
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
                             signals)
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
