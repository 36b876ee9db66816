"""Target settings for ``kind: prometheus`` (validated by audit.yaml loading)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from auditor.http import HttpSettings

_DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")


class PrometheusSettings(HttpSettings):
    """Where Prometheus (and optionally Alertmanager) answer, and how hard to look.

    Connection and credential settings are the shared ones (:class:`auditor.http.HttpSettings`:
    ``token_env``, ``username_env``/``password_env``, ``ca_file``, ``verify_tls``,
    ``request_timeout``, ``max_response_bytes``, ``max_retries``); the old names
    ``bearer_token_env`` and ``alertmanager_bearer_token_env`` still work, with a deprecation
    message.
    """

    url: str = Field(pattern=r"^https?://")
    alertmanager_url: str | None = Field(default=None, pattern=r"^https?://")
    #: credentials for Alertmanager; Prometheus credentials are never sent to another host
    alertmanager_token_env: str | None = None
    alertmanager_username_env: str | None = None
    alertmanager_password_env: str | None = None
    #: bound on rules looked at; the rest are counted as skipped
    max_rules: int = Field(default=5000, ge=1)
    #: how far back "fired recently" looks (a PromQL duration)
    alerts_lookback: str = "7d"

    @field_validator("alerts_lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError("a Prometheus duration such as 7d, 24h or 90m")
        return value
