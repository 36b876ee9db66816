"""Account-wide controls: CloudTrail (audit logging), IAM roles SageMaker assumes (access
control), Budgets and cost allocation tags (cost control)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_ROLES = 20


def trails(scan: Scan) -> None:
    """Trails that log this region; each trail is read once even if it covers every region."""
    got = scan.call("cloudtrail", "DescribeTrails", ("audit",), includeShadowTrails=True) or {}
    for t in got.get("trailList") or []:
        arn = t.get("TrailARN", "")
        if not arn or not scan.env.first_time(arn):
            continue
        home = t.get("HomeRegion") or scan.region
        status = scan.call("cloudtrail", "GetTrailStatus", ("audit",), Name=arn) or {}
        logging = bool(status.get("IsLogging"))
        validated = bool(t.get("LogFileValidationEnabled"))
        strength = (S.OPERATING if logging and validated else S.CONFIGURED if logging
                    else S.DECLARED)
        Scan(scan.env, home).evidence(
            "audit.logging", strength, arn, tool="cloudtrail", trail=t.get("Name"),
            logging=logging, log_file_validation=validated,
            multi_region=bool(t.get("IsMultiRegionTrail")), kms=bool(t.get("KmsKeyId")))


def _trust(doc: Any) -> dict[str, Any]:
    if isinstance(doc, str):
        try:
            return json.loads(urllib.parse.unquote(doc))
        except ValueError:
            return {}
    return doc or {}


def sagemaker_roles(scan: Scan) -> None:
    roles = []
    for role in scan.pages("iam", "ListRoles", "Roles", ("security.access_control",)):
        principals = []
        for st in _trust(role.get("AssumeRolePolicyDocument")).get("Statement") or []:
            svc = (st.get("Principal") or {}).get("Service") if isinstance(st, dict) else None
            principals += svc if isinstance(svc, list) else [svc]
        if "sagemaker.amazonaws.com" in principals:
            roles.append(role)
    used = {k[5:] for k in scan.env.stats if k.startswith("role:")}
    for role in roles[:MAX_ROLES]:
        scan.evidence("security.access_control", S.CONFIGURED, role.get("Arn", ""),
                      regional=False, tool="iam", role=role.get("RoleName"),
                      trusted_by="sagemaker.amazonaws.com", sagemaker_roles=len(roles),
                      used_by_training=role.get("Arn") in used or None)


def budgets(scan: Scan) -> None:
    found = list(scan.pages("budgets", "DescribeBudgets", "Budgets", ("cost",),
                            AccountId=scan.env.account))
    for b in found[:20]:
        name = b.get("BudgetName", "")
        limit = (b.get("BudgetLimit") or {})
        scan.evidence("cost.control", S.CONFIGURED,
                      f"arn:{scan.env.partition}:budgets::{scan.env.account}:budget/{name}",
                      regional=False, tool="aws-budgets", budget=name,
                      budget_type=b.get("BudgetType"), limit=limit.get("Amount"),
                      unit=limit.get("Unit"), budgets=len(found))


def cost_tags(scan: Scan) -> None:
    tags = [t.get("TagKey") for t in scan.pages("ce", "ListCostAllocationTags",
                                               "CostAllocationTags", ("cost",),
                                               Status="Active", Type="UserDefined")]
    if tags:
        scan.evidence("cost.control", S.CONFIGURED,
                      f"arn:{scan.env.partition}:ce::{scan.env.account}:cost-allocation-tags",
                      regional=False, tool="cost-allocation-tags", tags=sorted(tags)[:20],
                      count=len(tags))
