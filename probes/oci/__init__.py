"""OCI / Docker registry probe: versioned images, provenance labels, signatures, base images.

Read-only (GET/HEAD on the Distribution v2 API) with stdlib HTTP; see docs/probes/oci.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import Probe, ProbeContext, Target, make_evidence

from .settings import OciSettings
from .signals import SIGNALS

__all__ = ["OciProbe", "OciSettings"]


class OciProbe(Probe):
    kind: ClassVar[str] = "oci"
    resolves: ClassVar[tuple[str, ...]] = ("image",)  # images named on its host
    signals: ClassVar[tuple[str, ...]] = SIGNALS
    settings_model = OciSettings
    description: ClassVar[str] = (
        "Container registry (Distribution v2 / OCI): versioned vs latest-only images, image age, "
        "provenance labels, signatures and SBOMs, base image families")

    def __init__(self) -> None:
        self.last_walk: Any = None

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from .collect import Walk

        walk = Walk(target, ctx)
        self.last_walk = walk
        yield from walk.run()

    def resolve_links(self, target: Target, ctx: ProbeContext,
                      keys: Sequence[str]) -> Iterator[Evidence]:
        """Other sources name ``image:<this host>/<repo>``: say which of the repositories this
        target audits (``repositories``) exist here (one tag-list page each, at most 200
        keys). A target per repository (discovery) so answers for its own only, not for
        every key of the host once per repository."""
        from fnmatch import fnmatchcase

        from auditor.refs import image_key, key_host

        from .collect import GLOB_CHARS, Walk

        walk = Walk(target, ctx)
        prefix = f"image:{key_host(walk.host)}/"
        hub = key_host(walk.host) == "docker.io"  # official images live in library/
        globs = [g.strip("/") if GLOB_CHARS & set(g) or "/" in g or not hub else f"library/{g}"
                 for g in walk.s.repositories]
        wanted = sorted({k for k in keys if k.startswith(prefix)
                         and any(fnmatchcase(k.removeprefix(prefix), g) for g in globs)})[:200]
        if not wanted or walk.check_api_quietly() is False:
            return
        for key in wanted:
            ctx.check()
            repo = key.removeprefix(prefix)
            tags = walk.first_tags(repo)
            if tags is None:
                continue
            yield make_evidence(signal="image.repository", strength=Strength.OPERATING,
                           target=target.name, locator=f"oci://{walk.host}/{repo}",
                           attributes={"repository": repo, "tags_seen": len(tags),
                                       "link_keys": [image_key(walk.host, repo)]},
                           excerpt=f"{repo} exists in {walk.host}")

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """``oci://registry.example.com/ml/*`` -> url https://registry.example.com, repositories."""
        if not argument.startswith("oci://"):
            return None
        host, _, path = argument.removeprefix("oci://").partition("/")
        if not host:
            return None
        scheme = "http" if host.startswith(("localhost", "127.0.0.1")) else "https"
        return {"url": f"{scheme}://{host}", "repositories": [path or "*"]}
