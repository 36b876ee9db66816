"""Target settings of ``kind: oci`` (validated from audit.yaml; unknown keys are errors)."""

from __future__ import annotations

from pydantic import Field

from auditor.http import HttpSettings
from auditor.limits import MiB


class OciSettings(HttpSettings):
    """Connection and credential settings are the shared ones (:class:`auditor.http.HttpSettings`);
    the old name ``ca_bundle`` still works, with a deprecation message."""

    #: registry base URL, e.g. ``https://registry.internal`` (``/v2/`` is appended)
    url: str = Field(pattern=r"^https?://[^/\s]+")
    #: repository names or globs (``ml/*``, ``team-?/**``); literal names skip the catalog
    repositories: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    #: newest N tags per repository whose manifests and configs are read
    max_tags: int = Field(default=20, ge=1, le=500)
    #: repositories read at most (the rest is reported as not looked at)
    max_repositories: int = Field(default=200, ge=1, le=100_000)
    #: ``n`` for catalog and tag-list pages
    page_size: int = Field(default=100, ge=1, le=10_000)
    #: tag-list pages read per repository at most (bounds repositories with huge tag counts)
    max_tag_pages: int = Field(default=50, ge=1)
    #: Docker client config with ``auths`` entries; default ``$DOCKER_CONFIG/config.json``
    #: or ``~/.docker/config.json``
    docker_config: str | None = None
    #: manifests, configs and list pages are small: one answer is read up to 8 MiB
    max_response_bytes: int = Field(default=8 * MiB, ge=1024)
    #: which child of a multi-platform index is read for labels (``os/arch``)
    platform: str = "linux/amd64"
    #: ask the OCI referrers API for signatures and SBOMs (stops after the first 404)
    referrers: bool = True
