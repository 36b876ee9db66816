"""Evidence under an ``s3://bucket/prefix``: every collect run found there (a manifest and
the files it lists) is copied to a local folder, then read like any other.

Credentials and endpoint come from boto3's usual chain (``AWS_PROFILE``, instance or pod
roles, ``AWS_ENDPOINT_URL_S3`` for S3-compatible stores). Needs ``s3:ListBucket`` on the
prefix and ``s3:GetObject`` on its objects. boto3 is imported only here.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from auditor.redact import one_line
from auditor.store import MANIFEST_NAME, MAX_FILE_BYTES, MAX_MANIFEST_BYTES, StoreError

_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
#: objects listed under one prefix before giving up (a prefix is one audit's evidence)
MAX_OBJECTS = 1_000_000
DOWNLOADS_AT_ONCE = 8


def download(location: str, dest: Path) -> list[tuple[str, Path, str]]:
    """Copy every run under ``location`` into ``dest``; returns ``(where, folder, manifest
    file name)`` for each manifest found."""
    match = _URL.match(location)
    if not match:
        raise StoreError(f"{location}: not an s3://bucket/prefix address")
    bucket, prefix = match.group(1), (match.group(2) or "")
    client, errors = _client()
    try:
        manifests = [key for key in _keys(client, bucket, prefix)
                     if MANIFEST_NAME.match(key.rsplit("/", 1)[-1])]
        if not manifests:
            raise StoreError(f"{location}: no evidence here (no manifest.json under this prefix)")
        found = []
        jobs: list[tuple[str, Path, int]] = []
        for n, key in enumerate(sorted(manifests)):
            folder = dest / str(n)
            folder.mkdir(parents=True)
            name = key.rsplit("/", 1)[-1]
            _get(client, bucket, key, folder / name, MAX_MANIFEST_BYTES)
            base = key[: -len(name)]
            found.append((f"s3://{bucket}/{key}", folder, name))
            jobs += [(base + file, folder / file, MAX_FILE_BYTES) for file in _listed(folder / name)]
        with ThreadPoolExecutor(DOWNLOADS_AT_ONCE) as pool:
            for done in [pool.submit(_get, client, bucket, *job) for job in jobs]:
                done.result()
        return found
    except StoreError:
        raise
    except errors as exc:
        raise StoreError(f"{location}: {_describe(exc)}") from None


def _client() -> tuple[Any, tuple[type[BaseException], ...]]:
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError:
        raise StoreError("reading s3:// needs boto3 (pip install 'mlops-auditor[aws]')") from None
    config = botocore.config.Config(connect_timeout=10, read_timeout=60,
                                    retries={"max_attempts": 3, "mode": "standard"})
    client = boto3.session.Session().client("s3", config=config)
    return client, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under the prefix; botocore's paginator stops on a repeated page token."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", ())]
        if len(keys) > MAX_OBJECTS:
            raise StoreError(f"s3://{bucket}/{prefix}: more than {MAX_OBJECTS} objects; "
                             f"give the prefix of one audit")
    return keys


def _get(client: Any, bucket: str, key: str, path: Path, limit: int) -> None:
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404"):
            raise StoreError(f"s3://{bucket}/{key}: missing (listed in its manifest); "
                             f"collect this shard again") from None
        raise
    if int(answer.get("ContentLength") or 0) > limit:
        raise StoreError(f"s3://{bucket}/{key}: larger than {limit >> 20} MiB; refused")
    body = answer["Body"]
    with path.open("wb") as fh:
        read = 0
        while chunk := body.read(1 << 20):
            read += len(chunk)
            if read > limit:
                raise StoreError(f"s3://{bucket}/{key}: larger than {limit >> 20} MiB; refused")
            fh.write(chunk)


def _listed(manifest: Path) -> list[str]:
    """File names a manifest lists (checked fully when the run is read)."""
    import json

    try:
        return [str(t["file"]) for t in json.loads(manifest.read_bytes())["targets"]
                if "/" not in str(t["file"]) and not str(t["file"]).startswith(".")]
    except (ValueError, KeyError, TypeError):
        return []  # the reader says what is wrong with it


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        err = response["Error"]
        return one_line(f"{err.get('Code')}: {err.get('Message') or 'refused'}")
    name = type(exc).__name__
    if name == "NoCredentialsError":
        return "no AWS credentials (set AWS_PROFILE, or run with a role that can read the bucket)"
    return one_line(f"{name}: {exc}")
