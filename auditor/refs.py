"""Cross-source reference keys, built in one place so that links resolve.

Evidence names what it *is* (``link_keys``) and what it *refers to* (``links_to``) with keys
of these shapes; :mod:`auditor.links` matches them. Every probe builds them here:

- ``image:<registry-host>/<repository>`` — Docker Hub is ``docker.io`` whatever alias was
  written, and its bare names get ``library/``; host and path are lower case;
- ``image-digest:sha256:<hex>`` — one exact image;
- ``commit:<40 hex>`` — a full git SHA (a short one cannot be resolved reliably);
- ``model:<name>`` — a registered model.

:func:`parse_image` reads a container reference (``[host/]path[:tag][@digest]``); an image
is *versioned* when it is pinned by digest or tagged with anything but a moving tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.lazyre import lazy

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                                "registry.hub.docker.com"})
#: tags that move with every push: a reference by one of them names no version
MOVING_TAGS = frozenset({"latest", "master", "main"})

_HEX40 = lazy(r"^[0-9a-fA-F]{40}$")
#: template variables: ${{ x }}, ${x}, $(x), $x, {{ x }}
_VAR = lazy(r"\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}")
_PATH = lazy(r"[a-z0-9._/-]+")


def key_host(host: str) -> str:
    """A registry host as keys name it (Docker Hub aliases are ``docker.io``)."""
    host = host.lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def image_key(host: str, repo: str) -> str:
    """``image:<registry-host>/<repo>``; Docker Hub is ``docker.io`` and bare names get
    ``library/``."""
    host = key_host(host)
    repo = repo.lower()
    if host == DOCKER_HUB and "/" not in repo:
        repo = "library/" + repo
    return f"image:{host}/{repo}"


def digest_key(digest: str) -> str:
    return f"image-digest:{digest.lower()}"


def commit_key(revision: str | None) -> str | None:
    """``commit:<sha>`` for a full 40-hex git SHA, else None."""
    if revision and _HEX40.match(revision.strip()):
        return "commit:" + revision.strip().lower()
    return None


def is_commit_key(key: str) -> bool:
    return key.startswith("commit:") and bool(_HEX40.match(key.split(":", 1)[1]))


def model_key(name: str) -> str:
    return f"model:{name}"


@dataclass(frozen=True)
class ImageRef:
    """A parsed container reference. ``host``/``repo`` are None when the name is built from
    template variables (it cannot be linked); ``tag``/``digest`` None when absent."""

    host: str | None
    repo: str | None
    tag: str | None
    digest: str | None
    raw: str

    @property
    def key(self) -> str | None:
        return f"image:{self.host}/{self.repo}" if self.host and self.repo else None

    @property
    def keys(self) -> list[str]:
        """The image key and, when pinned, the digest key."""
        out = [self.key] if self.key else []
        return out + ([digest_key(self.digest)] if self.digest else [])

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repo}" if self.host and self.repo else self.raw

    @property
    def versioned(self) -> bool:
        """Pinned by digest, or tagged with something other than a moving tag."""
        if self.digest:
            return True
        return bool(self.tag) and self.tag.lower() not in MOVING_TAGS

    @property
    def version(self) -> str:
        """The tag, else the digest, else ``latest`` (what a pull without a tag gets)."""
        return self.tag or self.digest or "latest"

    @property
    def dynamic_tag(self) -> bool:
        return bool(self.tag and _VAR.search(self.tag))


def parse_image(raw: str) -> ImageRef | None:
    """``[host/]path[:tag][@digest]``; None for no reference at all (empty, ``scratch``,
    words with spaces). Template variables (``${{ env.TAG }}``) are kept in the tag; a host
    or path made of them gives an ImageRef without host and repo."""
    ref = raw.strip().strip("'\"")
    ref = re.sub(r"(\$?\{\{)(.*?)(\}\})",
                 lambda m: m.group(1) + m.group(2).replace(" ", "") + m.group(3), ref)
    if not ref or any(c.isspace() for c in ref) or ref.lower() == "scratch":
        return None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        digest = digest.lower() if digest.lower().startswith("sha256:") else None
    tag = None
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:  # the tag is after the last ':' that comes after the last '/'
        ref, tag = ref[:colon], ref[colon + 1:]
    if not ref:
        return None
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"
                           or _VAR.search(parts[0])):
        host, path = parts[0], "/".join(parts[1:])
    else:
        host, path = DOCKER_HUB, ref
    if _VAR.search(host) or _VAR.search(path) or not _PATH.fullmatch(path.lower()):
        return ImageRef(None, None, tag or None, digest, raw.strip())
    host = key_host(host)
    path = path.lower()
    if host == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    return ImageRef(host, path, tag or None, digest, raw.strip())


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``[host/]path[:tag][@digest]`` -> (host/path with Docker Hub normalised, tag, digest).
    Unlike :func:`parse_image`, Docker Hub's bare names keep no ``library/``."""
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first.lower(), rest
    else:
        host, path = DOCKER_HUB, name
    return f"{key_host(host)}/{path.lower()}", tag, digest or None


def base_family(ref: str) -> tuple[str, str]:
    """``docker.io/library/python:3.11-slim`` -> (``python``, ``3.11-slim``); other registries
    keep their host (``nvcr.io/nvidia/pytorch``). No tag means ``latest``; digest-only
    references use the short digest as the version."""
    name, tag, digest = split_reference(ref)
    family = name.removeprefix("docker.io/").removeprefix("library/")
    version = tag or (digest.split(":", 1)[-1][:12] if digest else "latest")
    return family, version
