"""Container image references: normalised link keys and whether a reference is versioned."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VAR = re.compile(r"\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}")


@dataclass(frozen=True)
class ImageRef:
    host: str | None  # None when the name is built from variables
    repo: str | None
    tag: str | None
    digest: str | None
    raw: str

    @property
    def key(self) -> str | None:
        if self.host and self.repo:
            return f"image:{self.host}/{self.repo}"
        return None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repo}" if self.host and self.repo else self.raw

    @property
    def versioned(self) -> bool:
        """Pinned by digest, or tagged with something other than ``latest``."""
        if self.digest:
            return True
        return bool(self.tag) and self.tag.lower() not in ("latest", "master", "main")

    @property
    def dynamic_tag(self) -> bool:
        return bool(self.tag and _VAR.search(self.tag))


def parse_image(raw: str) -> ImageRef | None:
    ref = raw.strip().strip("'\"")
    ref = re.sub(r"(\$?\{\{)(.*?)(\}\})", lambda m: m.group(1) + m.group(2).replace(" ", "") + m.group(3), ref)
    if not ref or " " in ref or ref.lower() == "scratch":
        return None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    # the tag is after the last ':' that comes after the last '/'
    tag = None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1:]
    if not ref:
        return None
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"
                           or _VAR.search(parts[0])):
        host, path = parts[0], "/".join(parts[1:])
    else:
        host, path = "docker.io", ref
        if "/" not in path:
            path = "library/" + path
    if host in ("index.docker.io", "registry-1.docker.io"):
        host = "docker.io"
    if _VAR.search(host) or _VAR.search(path) or not re.fullmatch(r"[a-z0-9._/-]+", path.lower()):
        return ImageRef(None, None, tag, digest, raw.strip())
    return ImageRef(host.lower(), path.lower(), tag, digest, raw.strip())
