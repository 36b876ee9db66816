"""S3 buckets that hold data or models: versioning (data versioning), default encryption,
public access block. Listed once for the account; only buckets in audited regions are read."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from auditor.evidence import Strength as S
from probes.aws.scan import Scan, Stopped

MAX_BUCKETS = 300  # data/model buckets inspected (three calls each: no batch API exists)
MAX_LISTED = 5000  # buckets located for data residency
BUCKET_WORKERS = 8  # per-bucket reads in flight at once
SIGNALS = ("data_versioning", "security.encryption", "security.access_control", "residency")


def collect(scan: Scan, regions: list[str]) -> None:
    """List once; then locate and read the buckets a few at a time (per-bucket APIs only)."""
    pattern = re.compile(scan.env.settings.ml_bucket_pattern)
    buckets = list(scan.pages("s3", "ListBuckets", "Buckets", SIGNALS))[:MAX_LISTED]
    if len(buckets) == MAX_LISTED:
        scan.unobserved(f"S3 buckets beyond the first {MAX_LISTED}",
                        "too many buckets; the rest were not read")
    budget = threading.Semaphore(MAX_BUCKETS)

    def one(bucket: dict) -> None:
        name = bucket.get("Name", "")
        region = bucket.get("BucketRegion") or _location(scan, name)
        if region is None:
            return
        arn = f"arn:{scan.env.partition}:s3:::{name}"
        with scan.env.lock:
            used = scan.env.regions_used[region]
            used[0] += 1
            used[1] = used[1] or arn
        if region in regions and pattern.search(name) and budget.acquire(blocking=False):
            try:
                _bucket(Scan(scan.env, region), name, arn)
            except Stopped:
                raise
            except Exception as exc:  # one odd bucket never hides the others
                scan.unobserved(f"bucket {name}", f"probe error: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=BUCKET_WORKERS, thread_name_prefix="aws-s3") as pool:
        for future in [pool.submit(one, b) for b in buckets]:
            future.result()


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
