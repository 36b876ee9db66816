"""S3 buckets that hold data or models: versioning (data versioning), default encryption,
public access block. Listed once for the account; only buckets in audited regions are read."""

from __future__ import annotations

import re

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_BUCKETS = 300  # data/model buckets inspected (three calls each: no batch API exists)
SIGNALS = ("data_versioning", "security.encryption", "security.access_control", "residency")


def collect(scan: Scan, regions: list[str]) -> None:
    pattern = re.compile(scan.env.settings.ml_bucket_pattern)
    inspected = 0
    for b in scan.pages("s3", "ListBuckets", "Buckets", SIGNALS):
        name = b.get("Name", "")
        region = b.get("BucketRegion") or _location(scan, name)
        if region is None:
            continue
        arn = f"arn:{scan.env.partition}:s3:::{name}"
        with scan.env.lock:
            used = scan.env.regions_used[region]
            used[0] += 1
            used[1] = used[1] or arn
        if region not in regions or not pattern.search(name):
            continue
        if inspected >= MAX_BUCKETS:
            scan.unobserved(f"S3 buckets beyond the first {MAX_BUCKETS}", "too many buckets; the rest were not read")
            break
        inspected += 1
        _bucket(Scan(scan.env, region), name, arn)


def _location(scan: Scan, name: str) -> str | None:
    """Older S3 APIs (and some S3-compatible endpoints) omit BucketRegion from ListBuckets."""
    got = scan.call("s3", "GetBucketLocation", ("residency",), what=f"bucket {name}", Bucket=name)
    if got is None:
        return None
    # the API's historical quirks: no constraint = us-east-1, "EU" = eu-west-1
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
        got.get("LocationConstraint"), got.get("LocationConstraint"))


def _bucket(scan: Scan, name: str, arn: str) -> None:
    what = f"bucket {name}"
    ver = scan.call("s3", "GetBucketVersioning", ("data_versioning",), what=what, Bucket=name)
    if ver is not None and ver.get("Status") == "Enabled":
        scan.evidence("data_versioning.store", S.CONFIGURED, arn, tool="s3-versioning",
                      bucket=name, mfa_delete=ver.get("MFADelete") == "Enabled" or None)
    enc = scan.call("s3", "GetBucketEncryption", ("security.encryption",), what=what,
                    quiet=("ServerSideEncryptionConfigurationNotFoundError",), Bucket=name)
    rules = ((enc or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if rules:
        algo = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
        scan.evidence("security.encryption", S.CONFIGURED, arn, tool="s3", bucket=name,
                      algorithm=algo, kms=algo in ("aws:kms", "aws:kms:dsse"))
    pab = scan.call("s3", "GetPublicAccessBlock", ("security.access_control",), what=what,
                    quiet=("NoSuchPublicAccessBlockConfiguration",), Bucket=name)
    conf = (pab or {}).get("PublicAccessBlockConfiguration") or {}
    if conf and all(conf.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls",
                                          "BlockPublicPolicy", "RestrictPublicBuckets")):
        scan.evidence("security.access_control", S.CONFIGURED, arn, tool="s3", bucket=name,
                      public_access_blocked=True)
