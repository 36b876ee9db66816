"""Credentials, client configuration and clients. boto3 is imported here, only while a probe
runs. Every client reads an answer in chunks up to ``max_response_bytes`` (botocore itself would
take any answer whole into memory before parsing it)."""

from __future__ import annotations

import json
from typing import Any

from auditor.limits import CHUNK, ResponseTooLarge
from auditor.probe import ProbeContext
from auditor.redact import register_secret
from probes.aws.actions import policy_document
from probes.aws.settings import AwsSettings

DEFAULT_REGION = "us-east-1"
#: assume-role session policies may not exceed this many characters (packed)
_SESSION_POLICY_LIMIT = 2048


def client_config(settings: AwsSettings, ctx: ProbeContext) -> Any:
    from botocore.config import Config

    left = max(1.0, ctx.remaining())
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
        connect_timeout=min(10.0, left),
        read_timeout=min(30.0, left),
        max_pool_connections=max(10, settings.parallel_regions * 4),
        user_agent_extra="mlops-auditor",
    )


def open_session(settings: AwsSettings, ctx: ProbeContext) -> Any:
    """A boto3 Session for the target; with ``role_arn``, one holding the assumed role's keys.

    The assumed-role session carries the probe's read-only policy as a session policy, so it
    can never do more than read, whatever the role itself allows.
    """
    import boto3

    base = boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()
    _register(base)
    if not settings.role_arn:
        return base
    sts = make_client(base, "sts", base.region_name or DEFAULT_REGION, settings,
                      client_config(settings, ctx))
    params: dict[str, Any] = {"RoleArn": settings.role_arn, "RoleSessionName": "mlops-auditor",
                              "DurationSeconds": 3600}
    if settings.external_id:
        register_secret(settings.external_id)
        params["ExternalId"] = settings.external_id
    packed = json.dumps(policy_document(), separators=(",", ":"))
    if len(packed) <= _SESSION_POLICY_LIMIT:
        params["Policy"] = packed
    creds = sts.assume_role(**params)["Credentials"]
    for key in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        register_secret(creds.get(key))
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"],
                         region_name=base.region_name)


def _register(session: Any) -> None:
    """Mask every credential this session holds from any output."""
    creds = session.get_credentials()
    if creds is None:
        return
    frozen = creds.get_frozen_credentials()
    for value in (frozen.access_key, frozen.secret_key, frozen.token):
        register_secret(value)


def make_client(session: Any, service: str, region: str | None, settings: AwsSettings,
                config: Any) -> Any:
    """``session.client(...)`` whose answers are read up to ``settings.max_response_bytes``."""
    client = session.client(service, region_name=region, endpoint_url=settings.endpoint_url,
                            config=config)
    endpoint = getattr(client, "_endpoint", None)  # botocore's one HTTP seam per client
    if endpoint is not None and hasattr(endpoint, "http_session"):
        endpoint.http_session = _CappedSession(endpoint.http_session, settings.max_response_bytes)
    return client


class _CappedSession:
    """Wraps botocore's HTTP session: each response's body stream stops past ``limit``."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def send(self, request: Any) -> Any:
        # botocore's session reads the whole body inside send() unless the request streams
        # its output: ask for the stream, then read it here through the cap
        streaming = request.stream_output
        request.stream_output = True
        try:
            response = self._inner.send(request)
        finally:
            request.stream_output = streaming
        host = request.url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
        response.raw = _CappedRaw(response.raw, self._limit, host)
        if not streaming:
            response.content  # noqa: B018 - reads and keeps the body, bounded
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _CappedRaw:
    """The urllib3 response of one answer; ``stream()`` (all botocore reads) is bounded."""

    def __init__(self, raw: Any, limit: int, host: str) -> None:
        self._raw = raw
        self._limit = limit
        self._host = host

    def stream(self, amt: int = CHUNK, decode_content: bool | None = None) -> Any:
        total = 0
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            total += len(chunk)
            if total > self._limit:
                self._raw.close()  # drop the connection rather than drain the rest
                raise ResponseTooLarge(f"an answer from {self._host}", self._limit)
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)
