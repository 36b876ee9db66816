"""Manifests, indexes and image configs: what one tag points at, parsed defensively."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_CONFIGS = {"application/vnd.oci.image.config.v1+json",
                 "application/vnd.docker.container.image.v1+json"}
INDEXES = {OCI_INDEX, DOCKER_LIST}
MANIFESTS = {OCI_MANIFEST, DOCKER_MANIFEST}
ACCEPT = ", ".join([OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST])

LABEL = "org.opencontainers.image."


class Malformed(Exception):
    """The registry served something that is not a usable manifest or config."""


@dataclass
class Image:
    repo: str
    tags: list[str]
    digest: str  # the digest the tag points at (an index digest for multi-platform images)
    media_type: str
    platforms: int = 1
    config_digest: str | None = None
    artifact_type: str | None = None  # a non-image artifact (helm chart, model, ...)
    created: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, name: str) -> str | None:
        value = self.labels.get(LABEL + name)
        return value.strip() if isinstance(value, str) and value.strip() else None


def digest_of(body: bytes, header: str | None) -> str:
    if header and header.startswith("sha256:"):
        return header
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_manifest(data: Any, content_type: str) -> tuple[str, dict[str, Any]]:
    """The media type and the document; Malformed when it is neither a manifest nor an index."""
    if not isinstance(data, dict):
        raise Malformed("manifest is not a JSON object")
    media = data.get("mediaType") or content_type
    if data.get("schemaVersion") == 1 or "prettyjws" in media:
        raise Malformed("Docker schema 1 manifest (deprecated, not read)")
    if media not in INDEXES and media not in MANIFESTS:
        if isinstance(data.get("manifests"), list):
            media = OCI_INDEX
        elif isinstance(data.get("config"), dict):
            media = OCI_MANIFEST
        else:
            raise Malformed(f"unknown manifest type {media or '(none)'}")
    if media in INDEXES:
        if not isinstance(data.get("manifests"), list):
            raise Malformed("index without a 'manifests' list")
    else:
        config = data.get("config")
        if not isinstance(config, dict) or not str(config.get("digest", "")).startswith("sha256:"):
            raise Malformed("manifest without a config descriptor")
    return media, data


def pick_child(index: dict[str, Any], platform: str) -> dict[str, Any] | None:
    """The child manifest for ``os/arch``, else the first real platform (not attestations)."""
    want_os, _, want_arch = platform.partition("/")
    children = [m for m in index.get("manifests", []) if isinstance(m, dict)
                and str(m.get("digest", "")).startswith("sha256:")]
    real = [m for m in children if (m.get("platform") or {}).get("os") not in ("unknown",)
            and (m.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest"]
    for m in real:
        p = m.get("platform") or {}
        if p.get("os") == want_os and (not want_arch or p.get("architecture") == want_arch):
            return m
    return (real or children or [None])[0]


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Go writes nanoseconds; Python takes microseconds
    if "." in text:
        head, _, frac = text.partition(".")
        digits = "".join(ch for ch in frac if ch.isdigit())
        text = head + "." + digits[:6] + frac[len(digits):]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed if parsed.year > 1970 else None  # reproducible builds stamp the epoch


def apply_config(image: Image, data: Any) -> None:
    if not isinstance(data, dict):
        raise Malformed("image config is not a JSON object")
    cfg = data.get("config") or data.get("container_config") or {}
    labels = cfg.get("Labels") if isinstance(cfg, dict) else None
    if isinstance(labels, dict):
        image.labels.update({str(k): str(v) for k, v in labels.items() if isinstance(v, (str, int, float))})
    image.created = parse_time(data.get("created")) or parse_time(image.labels.get(LABEL + "created"))


def apply_annotations(image: Image, doc: dict[str, Any]) -> None:
    """OCI annotations (buildx puts org.opencontainers.image.* there) fill missing labels."""
    annotations = doc.get("annotations")
    if isinstance(annotations, dict):
        for k, v in annotations.items():
            if isinstance(v, str):
                image.labels.setdefault(str(k), v)
