"""Container image references: registry host, repository, tag, digest and link keys."""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class ImageRef:
    host: str
    repo: str
    tag: str  # "" when none was given
    digest: str  # "sha256:..." or ""

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repo}"

    @property
    def link_key(self) -> str:
        return f"image:{self.name}"

    @property
    def versioned(self) -> bool:
        """Deployed by a specific tag or by digest; ``latest`` or no tag is not a version."""
        return bool(self.digest) or (bool(self.tag) and self.tag != "latest")

    @property
    def version(self) -> str:
        return self.tag or (self.digest if self.digest else "latest")


def parse_image(ref: str) -> ImageRef | None:
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref):
        return None
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not digest.startswith("sha256:"):
            digest = ""
    tag = ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    parts = ref.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        host, repo = first.lower(), "/".join(parts[1:])
    else:
        host, repo = DOCKER_HUB, ref
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
    repo = repo.lower()
    if host == DOCKER_HUB and "/" not in repo:
        repo = f"library/{repo}"
    if not repo:
        return None
    return ImageRef(host=host, repo=repo, tag=tag, digest=digest.lower())
