"""ECR repositories: scan on push, tag immutability, image counts and versioned tags."""

from __future__ import annotations

from auditor.evidence import Strength as S
from auditor.refs import image_key
from probes.aws.scan import Scan

MAX_REPOS = 200  # repositories whose images are listed per region (one ListImages each)
MAX_IMAGES = 1000  # image ids read per repository (one page)
FLOATING = {"latest", "stable", "main", "master", "dev", "prod", "production", "staging"}


def collect(scan: Scan) -> None:
    for i, repo in enumerate(scan.pages("ecr", "DescribeRepositories", "repositories",
                                        ("image", "security.scanning"))):
        name, arn = repo.get("repositoryName", ""), repo.get("repositoryArn", "")
        uri = repo.get("repositoryUri") or ""
        host, _, path = uri.partition("/")
        key = image_key(host, path) if host and path else None
        scan_on_push = bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush"))
        immutable = repo.get("imageTagMutability", "").startswith("IMMUTABLE")
        if scan_on_push:
            scan.evidence("security.scanning", S.CONFIGURED, arn, tool="ecr", repository=name,
                          scan_on_push=True)
        if i >= MAX_REPOS:
            continue
        tags: set[str] = set()
        images = untagged = 0
        for img in scan.pages("ecr", "ListImages", "imageIds", ("image",), max_items=MAX_IMAGES,
                              repositoryName=name, registryId=repo.get("registryId")):
            images += 1
            if img.get("imageTag"):
                tags.add(img["imageTag"])
            else:
                untagged += 1
        versioned = sorted(t for t in tags if t.lower() not in FLOATING)
        attrs = {"tool": "ecr", "repository": name, "images": images,
                 "tags": len(tags), "untagged": untagged, "immutable_tags": immutable,
                 "scan_on_push": scan_on_push, "link_keys": [key] if key else None,
                 "sample_tags": versioned[-5:] or None}
        if versioned or immutable:
            scan.evidence("image.versioned", S.CONFIGURED, arn, **attrs)
        elif images:
            scan.evidence("image.unversioned", S.CONFIGURED, arn, **attrs)
