"""Benchmark: the Kubernetes probe over 20,000 objects across 40 kinds and 200 namespaces.

Runs against the in-test API server (tests/servers/kubernetes.py) through the real client
and prints wall time (median of a few runs), the requests sent against the minimum possible
(one page per ``page_size`` objects per kind, plus /version and two discovery requests), and
peak Python memory (tracemalloc) of one run; then the same objects as a snapshot folder.

    python benchmarks/bench_kubernetes.py [--runs 3] [--objects 20000] [--page-size 500]
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.kubernetes.kinds import KINDS  # noqa: E402
from tests.servers.kubernetes import (  # noqa: E402
    BUILTIN,
    TOKEN,
    KubeApiServer,
    run_probe,
    write_kubeconfig,
    write_snapshot,
)
from tests.servers.kubernetes_manifests import CRDS, crd, deployment, manifests  # noqa: E402

N_KINDS, N_NAMESPACES = 40, 200


def build_objects(total: int) -> tuple[list[dict], dict[str, int]]:
    """``total`` objects spread unevenly over 40 known kinds in 200 namespaces."""
    templates: dict[tuple[str, str], dict] = {}
    for obj in manifests():
        api_version = obj["apiVersion"]
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        if obj["kind"] != "CustomResourceDefinition":
            templates.setdefault((group, obj["kind"]), obj)
    crds = list(CRDS)
    crd_groups = {(c["spec"]["group"], c["spec"]["names"]["kind"]) for c in crds}
    kinds = []
    for spec in KINDS:
        if len(kinds) == N_KINDS:
            break
        if spec.kind == "Namespace":
            continue
        kinds.append(spec)
        if spec.group and spec.key not in crd_groups and spec.kind not in BUILTIN:
            crds.append(crd(spec.group, spec.kind, spec.resource, ("v1",),
                            "Namespaced" if spec.namespaced else "Cluster"))
    weights = [1 + (i % 5) for i in range(len(kinds))]  # uneven: some kinds need more pages
    counts = {s.kind: max(1, total * w // sum(weights)) for s, w in zip(kinds, weights, strict=True)}
    counts[kinds[0].kind] += total - sum(counts.values())
    objects: list[dict] = list(crds)
    objects += [{"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": f"team-{n:03d}", "labels": {"team": f"t{n % 40}"}}}
                for n in range(N_NAMESPACES)]
    for spec in kinds:
        base = templates.get(spec.key) or deployment("x", "team-000", "registry.example.com/ml/x:1")
        if spec.key not in templates:
            base = {**base, "apiVersion": f"{spec.group}/v1" if spec.group else "v1", "kind": spec.kind}
        for i in range(counts[spec.kind]):
            obj = copy.deepcopy(base)
            obj["metadata"] = {**obj["metadata"], "name": f"{spec.resource}-{i:05d}"}
            obj["metadata"].pop("ownerReferences", None)
            if spec.namespaced:
                obj["metadata"]["namespace"] = f"team-{i % N_NAMESPACES:03d}"
            else:
                obj["metadata"].pop("namespace", None)
            objects.append(obj)
    counts["Namespace"] = N_NAMESPACES
    return objects, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    objects, counts = build_objects(args.objects - N_NAMESPACES)  # namespaces are objects too
    server = KubeApiServer(objects).start()
    # every known kind the server serves costs at least one page, even when empty
    served = {(r.group, r.kind) for r in server.resources.values()}
    min_pages = sum(max(1, math.ceil(counts.get(s.kind, 0) / args.page_size))
                    for s in KINDS if s.key in served)
    tmp = Path(tempfile.mkdtemp(prefix="bench-k8s-"))
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", server.url, TOKEN)
    settings = {"kubeconfig": str(kubeconfig), "page_size": args.page_size}
    n_objects = sum(counts.values())
    print(f"cluster: {n_objects} objects, {len(counts) - 1} kinds + Namespace, {N_NAMESPACES} namespaces, "
          f"page_size {args.page_size}")

    run_probe(settings, tmp, timeout=600)  # warm-up: imports the kubernetes client
    times, evidence_count = [], 0
    for _ in range(args.runs):
        server.reset()
        t0 = time.perf_counter()
        evidence, unobserved = run_probe(settings, tmp, timeout=600)
        times.append(time.perf_counter() - t0)
        evidence_count = len(evidence)
        assert not unobserved, unobserved
    requests = len(server.requests)
    list_requests = sum(1 for r in server.requests if "limit" in r.query)
    tracemalloc.start()
    run_probe(settings, tmp, timeout=600)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    minimum = min_pages + 3  # /version, /api, /apis
    print(f"live:     wall {statistics.median(times):.2f}s (median of {args.runs}), "
          f"{evidence_count} evidence")
    print(f"          requests {requests} (lists {list_requests}); minimum {minimum} "
          f"(list pages {min_pages} + 3 discovery) -> {requests / minimum:.2f}x")
    print(f"          peak traced memory {peak / 1e6:.1f} MB")
    server.stop()

    folder = write_snapshot(tmp / "snapshot", objects)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        snap, _ = run_probe({"snapshot": str(folder)}, tmp, timeout=600)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    run_probe({"snapshot": str(folder)}, tmp, timeout=600)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"snapshot: wall {statistics.median(times):.2f}s (median of {args.runs}), {len(snap)} evidence, "
          f"{size:.1f} MB of files, peak traced memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
