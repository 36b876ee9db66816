"""SageMaker research compute: Studio domains, user profiles, spaces, apps, notebook instances."""

from __future__ import annotations

from collections import Counter

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

WORKSPACE = ("compute.workspace", "platform.shared", "security")
NOTEBOOK = ("compute.notebook_server", "security")
MAX_DESCRIBE = 50  # notebook instances / domains described per region


def collect(scan: Scan) -> None:
    domains(scan)
    notebooks(scan)


def domains(scan: Scan) -> None:
    found = list(scan.pages("sagemaker", "ListDomains", "Domains", WORKSPACE))
    if not found:
        return
    profiles = Counter(p.get("DomainId") for p in
                       scan.pages("sagemaker", "ListUserProfiles", "UserProfiles", WORKSPACE))
    spaces = Counter(s.get("DomainId") for s in
                     scan.pages("sagemaker", "ListSpaces", "Spaces", WORKSPACE))
    running: dict[str, set[str]] = {}
    for app in scan.pages("sagemaker", "ListApps", "Apps", WORKSPACE):
        if app.get("Status") == "InService":
            owner = app.get("UserProfileName") or app.get("SpaceName") or "?"
            running.setdefault(app.get("DomainId", ""), set()).add(owner)
    for dom in found[:MAX_DESCRIBE]:
        dom_id, arn = dom.get("DomainId", ""), dom.get("DomainArn", "")
        detail = scan.call("sagemaker", "DescribeDomain", ("security",), DomainId=dom_id) or {}
        users, active = profiles.get(dom_id, 0), len(running.get(dom_id, ()))
        in_use = dom.get("Status") == "InService" and active > 0
        scan.evidence("compute.workspace", S.OPERATING if in_use else S.CONFIGURED, arn,
                      tool="sagemaker-studio", domain=dom.get("DomainName"),
                      status=dom.get("Status"), user_profiles=users,
                      spaces=spaces.get(dom_id, 0), active_users=active)
        if users >= 2:
            scan.evidence("platform.shared", S.OPERATING if active >= 2 else S.CONFIGURED, arn,
                          tool="sagemaker-studio", user_profiles=users, active_users=active)
        if detail.get("KmsKeyId"):
            scan.evidence("security.encryption", S.CONFIGURED, arn, resource="sagemaker-domain",
                          kms=True)
        if detail.get("AppNetworkAccessType") == "VpcOnly":
            scan.evidence("security.network_policy", S.CONFIGURED, arn,
                          resource="sagemaker-domain", network="VpcOnly")


def notebooks(scan: Scan) -> None:
    for i, nb in enumerate(scan.pages("sagemaker", "ListNotebookInstances", "NotebookInstances",
                                      NOTEBOOK)):
        name, arn = nb.get("NotebookInstanceName", ""), nb.get("NotebookInstanceArn", "")
        status = nb.get("NotebookInstanceStatus")
        detail = {}
        if i < MAX_DESCRIBE:
            detail = scan.call("sagemaker", "DescribeNotebookInstance", ("security",),
                               NotebookInstanceName=name) or {}
        internet = detail.get("DirectInternetAccess")
        scan.evidence("compute.notebook_server", S.OPERATING if status == "InService" else S.CONFIGURED,
                      arn, tool="sagemaker-notebook", name=name, status=status,
                      instance_type=nb.get("InstanceType"), direct_internet=internet,
                      kms=bool(detail.get("KmsKeyId")) if detail else None)
        if detail.get("KmsKeyId"):
            scan.evidence("security.encryption", S.CONFIGURED, arn,
                          resource="sagemaker-notebook", kms=True)
        if internet == "Disabled":
            scan.evidence("security.network_policy", S.CONFIGURED, arn,
                          resource="sagemaker-notebook", network="no-direct-internet")
