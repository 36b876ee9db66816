"""OCI probe over a registry with many repositories and tags: requests vs the minimum
number of list pages, wall time (median of a few runs) and peak Python memory.

Run: python benchmarks/bench_oci.py [repositories] [tags_per_repository] [runs]

Starts Debian's docker-registry on a free port with filesystem storage filled directly on
disk (blobs + link files, the layout distribution reads), because pushing thousands of
tags through the API would dominate the run. The probe then reads it through the API.
The minimum is what any client must ask: /v2/, the catalog pages, and one tag-list page
per matching repository; everything above is the bounded sample (a manifest and, for
each new config, a config blob per sampled tag — at most 2 x max_tags per repository)
plus one referrers probe per run (distribution 2.x answers 404, so it is asked once).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config import build_target  # noqa: E402
from auditor.probe import ProbeContext  # noqa: E402
from probes.oci import OciProbe  # noqa: E402
from tests.servers._util import stop  # noqa: E402
from tests.servers.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, start_registry  # noqa: E402


def _blob(v2: Path, data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    d = v2 / "blobs" / "sha256" / hexd[:2] / hexd
    d.mkdir(parents=True, exist_ok=True)
    (d / "data").write_bytes(data)
    return hexd


def _link(path: Path, hexd: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "link").write_text("sha256:" + hexd)


def fill(root: Path, repos: int, tags: int, images_per_repo: int = 25) -> int:
    """``repos`` repositories under ml/ (plus a quarter as many elsewhere); each has
    ``images_per_repo`` distinct images tagged with a semver and a git SHA, the rest of
    ``tags`` are build tags on those images. Returns the number of tags written."""
    v2 = root / "docker" / "registry" / "v2"
    layer = _blob(v2, b"shared layer")
    written = 0
    names = [f"ml/model-{i:04d}" for i in range(repos)] + [f"web/app-{i:04d}" for i in range(repos // 4)]
    for name in names:
        repo = v2 / "repositories" / name
        _link(repo / "_layers" / "sha256" / layer, layer)
        digests = []
        for n in range(images_per_repo):
            created = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:00Z"
            cfg = json.dumps({"created": created, "os": "linux", "architecture": "amd64",
                              "config": {"Labels": {
                                  "org.opencontainers.image.revision": hashlib.sha1(f"{name}{n}".encode()).hexdigest(),
                                  "org.opencontainers.image.base.name": f"python:3.{9 + n % 3}-slim"}}}).encode()
            ch = _blob(v2, cfg)
            _link(repo / "_layers" / "sha256" / ch, ch)
            man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                              "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + ch, "size": len(cfg)},
                              "layers": [{"mediaType": OCI_LAYER, "digest": "sha256:" + layer, "size": 12}]}).encode()
            mh = _blob(v2, man)
            _link(repo / "_manifests" / "revisions" / "sha256" / mh, mh)
            digests.append(mh)
        tag_names = []
        for n, mh in enumerate(digests):
            tag_names += [(f"1.{n // 10}.{n % 10}", mh), (hashlib.sha1(f"{name}{n}".encode()).hexdigest()[:7], mh)]
        tag_names.append(("latest", digests[-1]))
        n = 0
        while len(tag_names) < tags:
            tag_names.append((f"build-{n}", digests[n % len(digests)]))
            n += 1
        for tag, mh in tag_names[:max(tags, 1)]:
            _link(repo / "_manifests" / "tags" / tag / "current", mh)
            _link(repo / "_manifests" / "tags" / tag / "index" / "sha256" / mh, mh)
            written += 1
    return written


def run_once(url: str, tmp: Path, **settings) -> tuple[float, int, Counter, int, int]:
    empty = tmp / "empty.json"
    empty.write_text("{}")
    target = build_target({"name": "bench", "kind": "oci", "url": url, "docker_config": str(empty),
                           "repositories": ["ml/*"], **settings})
    probe = OciProbe()
    ctx = ProbeContext(probe="oci", cache_dir=tmp, now=datetime(2025, 6, 1, tzinfo=UTC), timeout=600)
    tracemalloc.start()
    t0 = time.perf_counter()
    items = list(probe.collect(target, ctx))
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kinds: Counter = Counter()
    for _, path in ctx.requests.entries:
        kind = ("v2" if path == "/v2/" else "catalog" if path == "/v2/_catalog" else
                "tag pages" if path.endswith("/tags/list") else "manifests" if "/manifests/" in path
                else "config blobs" if "/blobs/" in path else "referrers" if "/referrers/" in path
                else "other")
        kinds[kind] += 1
    return elapsed, peak, kinds, len(items), len(probe.last_walk.repositories)


def main() -> None:
    repos = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    tags = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with tempfile.TemporaryDirectory(prefix="bench-oci-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "storage"
        root.mkdir()
        t0 = time.perf_counter()
        written = fill(root, repos, tags)
        print(f"storage: {repos} ml/* repositories (+{repos // 4} others), {written} tags, "
              f"filled in {time.perf_counter() - t0:.1f}s")
        reg = start_registry(tmp, root, "bench")
        try:
            print(f"\n{'settings':28} {'requests':>8} {'min pages':>9} {'ratio':>6} {'median s':>9} "
                  f"{'peak MiB':>9} {'evidence':>8}   breakdown")
            for settings in ({"max_tags": 20, "page_size": 100}, {"max_tags": 5, "page_size": 100},
                             {"max_tags": 20, "page_size": 10}):
                times, peaks = [], []
                for _ in range(runs):
                    elapsed, peak, kinds, n_items, matched = run_once(reg.url, tmp, **settings)
                    times.append(elapsed)
                    peaks.append(peak)
                total_repos = repos + repos // 4
                minimum = 1 + math.ceil((total_repos + 1) / settings["page_size"]) + matched
                total = sum(kinds.values())
                label = ", ".join(f"{k}={v}" for k, v in settings.items())
                print(f"{label:28} {total:8d} {minimum:9d} {total / minimum:6.1f} "
                      f"{statistics.median(times):9.2f} {max(peaks) / 2**20:9.1f} {n_items:8d}   "
                      + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        finally:
            stop(reg.proc)
    print("\nrequests above the minimum are the bounded sample: per repository at most max_tags "
          "manifests + one config blob per distinct config; independent of the tag count.")


if __name__ == "__main__":
    main()
