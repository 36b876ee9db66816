"""Names as the engine's link keys want them: ``image:<host>/<repo>`` and base-image families."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .credentials import DOCKER_HUB_ALIASES

HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")


def registry_host(url: str) -> str:
    """The host[:port] a URL points at, lower case."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()


def key_host(host: str) -> str:
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def image_key(host: str, repo: str) -> str:
    """``image:<registry-host>/<repo>``; Docker Hub is ``docker.io`` and bare names get ``library/``."""
    host = key_host(host.lower())
    repo = repo.lower()
    if host == "docker.io" and "/" not in repo:
        repo = "library/" + repo
    return f"image:{host}/{repo}"


def commit_key(revision: str | None) -> str | None:
    """``commit:<sha>`` for a full 40-hex git SHA (short SHAs cannot be resolved reliably)."""
    if revision and HEX40.match(revision.strip()):
        return "commit:" + revision.strip().lower()
    return None


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``[host/]path[:tag][@digest]`` -> (host/path with Docker Hub normalised, tag, digest)."""
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
        host, path = "docker.io", name
    if host in DOCKER_HUB_ALIASES:
        host = "docker.io"
    return f"{host}/{path.lower()}", tag, digest or None


def base_family(ref: str) -> tuple[str, str]:
    """``docker.io/library/python:3.11-slim`` -> (``python``, ``3.11-slim``); other registries
    keep their host (``nvcr.io/nvidia/pytorch``). No tag means ``latest``; digest-only
    references use the short digest as the version."""
    name, tag, digest = split_reference(ref)
    family = name.removeprefix("docker.io/").removeprefix("library/")
    version = tag or (digest.split(":", 1)[-1][:12] if digest else "latest")
    return family, version
