"""Credentials and client configuration. boto3 is imported here, only while a probe runs."""

from __future__ import annotations

import json
from typing import Any

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
    sts = base.client("sts", region_name=base.region_name or DEFAULT_REGION,
                      endpoint_url=settings.endpoint_url, config=client_config(settings, ctx))
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
