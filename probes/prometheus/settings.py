"""Target settings for ``kind: prometheus`` (validated by audit.yaml loading)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from auditor.probe import Settings

_DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")


class PrometheusSettings(Settings):
    """Where Prometheus (and optionally Alertmanager) answer, and how hard to look.

    Credentials are never written in audit.yaml: the ``*_env`` keys name environment
    variables that hold them.
    """

    url: str = Field(pattern=r"^https?://")
    alertmanager_url: str | None = Field(default=None, pattern=r"^https?://")
    #: environment variable holding a bearer token for Prometheus
    bearer_token_env: str | None = None
    #: environment variables holding basic-auth user and password for Prometheus
    username_env: str | None = None
    password_env: str | None = None
    #: the same for Alertmanager; Prometheus credentials are never sent to another host
    alertmanager_bearer_token_env: str | None = None
    alertmanager_username_env: str | None = None
    alertmanager_password_env: str | None = None
    #: bound on rules looked at; the rest are counted as skipped
    max_rules: int = Field(default=5000, ge=1)
    #: how far back "fired recently" looks (a PromQL duration)
    alerts_lookback: str = "7d"
    #: seconds one HTTP request may take (further bounded by the probe's time left)
    request_timeout: float = Field(default=30.0, gt=0)
    #: largest answer read from one endpoint, in bytes
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    verify_tls: bool = True
    ca_file: str | None = None

    @field_validator("alerts_lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError("a Prometheus duration such as 7d, 24h or 90m")
        return value
