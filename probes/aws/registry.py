"""SageMaker Model Registry (model package groups and versions, approval status) and model cards."""

from __future__ import annotations

from collections import Counter, defaultdict

from auditor.evidence import Strength as S
from auditor.refs import model_key
from probes.aws.scan import Scan

MAX_PACKAGES = 2000  # newest model package versions read per region
MAX_CARDS = 200


def collect(scan: Scan) -> None:
    model_packages(scan)
    model_cards(scan)


def model_packages(scan: Scan) -> None:
    groups = list(scan.pages("sagemaker", "ListModelPackageGroups",
                             "ModelPackageGroupSummaryList", ("registry", "governance"),
                             max_items=1000))
    if not groups:
        if scan.ok:
            scan.env.count(registry_regions=1)
        return
    # one listing across all groups (no per-group calls)
    by_group: dict[str, list[dict]] = defaultdict(list)
    for pkg in scan.pages("sagemaker", "ListModelPackages", "ModelPackageSummaryList",
                          ("registry", "governance"), max_items=MAX_PACKAGES,
                          ModelPackageType="Versioned", SortBy="CreationTime",
                          SortOrder="Descending"):
        by_group[pkg.get("ModelPackageGroupName") or ""].append(pkg)
    complete = scan.ok
    scan.evidence("tool.model_registry", S.CONFIGURED,
                  groups[0].get("ModelPackageGroupArn", ""), tool="sagemaker",
                  feature="model-registry", groups=len(groups))
    recent = 0
    for g in groups:
        name, arn = g.get("ModelPackageGroupName", ""), g.get("ModelPackageGroupArn", "")
        pkgs = by_group.get(name, [])
        recent += sum(scan.recent(p.get("CreationTime")) for p in pkgs)
        status = Counter(p.get("ModelApprovalStatus") or "None" for p in pkgs)
        latest = max(pkgs, key=lambda p: p.get("ModelPackageVersion") or 0, default=None)
        scan.evidence("registry.model_version", S.OPERATING if pkgs else S.CONFIGURED,
                      (latest or {}).get("ModelPackageArn") or arn, tool="sagemaker-model-registry",
                      model=name, versions=len(pkgs),
                      latest_version=(latest or {}).get("ModelPackageVersion"),
                      link_keys=[model_key(name)])
        if g.get("ModelPackageGroupDescription"):
            scan.evidence("metadata.described", S.CONFIGURED, arn, model=name,
                          excerpt=g["ModelPackageGroupDescription"][:200])
        decided = status.get("Approved", 0) + status.get("Rejected", 0)
        if decided or status.get("PendingManualApproval"):
            scan.evidence("governance.approval", S.CONFIGURED, arn,
                          tool="sagemaker-model-registry", model=name,
                          approved=status.get("Approved", 0), rejected=status.get("Rejected", 0),
                          pending=status.get("PendingManualApproval", 0))
    if complete:
        scan.env.count(registry_regions=1, model_versions_recent=recent)


def model_cards(scan: Scan) -> None:
    for card in scan.pages("sagemaker", "ListModelCards", "ModelCardSummaries",
                           ("docs.model_card",), max_items=MAX_CARDS):
        status = card.get("ModelCardStatus")
        scan.evidence("docs.model_card", S.CONFIGURED if status == "Approved" else S.DECLARED,
                      card.get("ModelCardArn", ""), tool="sagemaker-model-cards",
                      card=card.get("ModelCardName"), status=status)
