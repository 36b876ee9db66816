"""Infrastructure as code: Terraform, CloudFormation, Bicep and CDK resource types, mapped to
the capabilities they set up (endpoints, feature groups, KMS keys, CloudTrail, budgets...)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from probes.git.detect.kube_rules import MODEL_RULE
from probes.git.scan import Scan
from probes.git.tree import Entry
from probes.git.yamlines import LDict, load_json, load_yaml

C = Strength.CONFIGURED

#: (regex over the normalised resource type, signal); normalised: lower case, '::' and '.' → '_'
TYPE_SIGNALS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), s) for p, s in (
    (r"sagemaker_endpoint$|vertex_ai_endpoint|machine_learning_(online|inference)_?endpoint|"
     r"onlineendpoints|online_endpoint", "serving.deployment"),
    (r"appautoscaling_(target|policy)|applicationautoscaling_(scalabletarget|scalingpolicy)",
     "serving.autoscaling"),
    (r"sagemaker_model_package_group|sagemaker_modelpackagegroup|vertex_ai_model$|"
     r"machine_learning_registr", "registry.usage"),
    (r"sagemaker_feature_?group|vertex_ai_featurestore|vertex_ai_feature_", "feature_store.definition"),
    (r"sagemaker_pipeline|vertex_ai_pipeline|datafactory_pipeline|mwaa_environment|"
     r"composer_environment|sfn_state_machine|stepfunctions_statemachine", "pipeline.definition"),
    (r"sagemaker_notebook_?instance|notebooks_instance|workbench_instance|"
     r"machine_learning_compute_instance", "compute.notebook_server"),
    (r"sagemaker_domain|sagemaker_user_?profile|sagemaker_space", "compute.workspace"),
    (r"sagemaker_monitoring_?schedule|sagemaker_data_quality_job|sagemaker_model_quality_job",
     "monitoring.model_job"),
    (r"kms_key$|kms_crypto_key|s3_bucket_server_side_encryption|key_vault$|keyvault_vaults",
     "security.encryption"),
    (r"iam_role$|iam_policy$|iam_role_policy|project_iam_|role_assignment|kubernetes_role|"
     r"iam_managed_policy", "security.access_control"),
    (r"cloudtrail|monitor_diagnostic_setting|logging_project_sink|audit_config",
     "audit.logging"),
    (r"budgets_budget|billing_budget|consumption_budget|ce_anomaly|kubernetes_resource_quota",
     "cost.control"),
    (r"security_group$|network_acl$|network_security_group|compute_firewall|"
     r"kubernetes_network_policy|ec2_securitygroup", "security.network_policy"),
    (r"s3_bucket_versioning", "data_versioning.store"),
    (r"emr_cluster|glue_job|dataproc_cluster|databricks_cluster|databricks_workspace|"
     r"synapse_spark_pool|emr_serverless", "distributed.workload"),
    (r"ecr_repository$|ecr_registry_scanning|inspector2_enabler|guardduty", "security.scanning"),
    (r"kubernetes_cron_job|scheduler_schedule$", "schedule.job"),
))


def _norm(rtype: str) -> str:
    return re.sub(r"::|\.|/", "_", rtype).lower().removeprefix("microsoft_")


def is_iac(e: Entry) -> bool:
    return e.name.endswith((".tf", ".bicep")) or e.name == "cdk.json"


def detect(scan: Scan, cfn_candidates: list[Entry]) -> Iterator[Evidence]:
    for entry in scan.find(is_iac):
        if entry.name == "cdk.json":
            yield scan.ev("iac.definition", C, entry.path, 1, tool="cdk")
            continue
        text = scan.text(entry)
        if text is None:
            continue
        tool = "terraform" if entry.name.endswith(".tf") else "bicep"
        pattern = (re.compile(r'^\s*resource\s+"([\w-]+)"\s+"([\w-]+)"') if tool == "terraform"
                   else re.compile(r"^\s*resource\s+(\w+)\s+'([\w.]+/[\w/]+)@"))
        found = []
        lines = text.splitlines()
        for n, line in enumerate(lines, 1):
            m = pattern.match(line)
            if not m:
                continue
            rtype, name = (m.group(1), m.group(2)) if tool == "terraform" else (m.group(2), m.group(1))
            found.append(rtype)
            block = "\n".join(lines[n - 1:n + 40])
            yield from _resource(scan, entry.path, n, tool, rtype, name, block)
        if found:
            yield scan.ev("iac.definition", C, entry.path, 1, tool=tool,
                          resource_types=sorted(set(found))[:20], resources=len(found))
    for entry in cfn_candidates:
        yield from _cloudformation(scan, entry)


def _resource(scan: Scan, path: str, line: int, tool: str, rtype: str, name: str,
              block: str) -> Iterator[Evidence]:
    norm = _norm(rtype)
    for pattern, signal in TYPE_SIGNALS:
        if not pattern.search(norm):
            continue
        if signal == "serving.autoscaling" and not re.search(r"sagemaker|endpoint|ecs|lambda", block, re.I):
            continue
        attrs = {"tool": tool, "resource_type": rtype, "name": name}
        yield scan.ev(signal, C, path, line, f"{rtype} {name}", **attrs)
    if re.search(r"cloudwatch_metric_alarm|cloudwatch_alarm|monitor_metric_alert|alert_policy", norm):
        kind = "model" if MODEL_RULE.search(block) else "operational"
        yield scan.ev(f"monitoring.{kind}_rule", C, path, line, f"{rtype} {name}", tool=tool,
                      resource_type=rtype, name=name)
    if re.search(r"cloudwatch_event_rule|events_rule", norm) and re.search(
            r"schedule_?expression", block, re.I):
        yield scan.ev("schedule.job", C, path, line, f"{rtype} {name}", tool=tool, resource_type=rtype,
                      name=name)
    if norm.endswith("helm_release"):
        m = re.search(r'chart\s*=\s*"([^"]+)"', block)
        chart = m.group(1) if m else ""
        if "jupyterhub" in chart:
            yield scan.ev("compute.notebook_server", C, path, line, chart, tool="jupyterhub")
        if "kubecost" in chart or "opencost" in chart:
            yield scan.ev("cost.control", C, path, line, chart, tool=chart)


def _cloudformation(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    read = scan.read_parsed(entry, load_json if entry.name.endswith(".json") else load_yaml)
    if read is None:
        return
    text, data = read
    resources = data.get("Resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        return
    found = []
    lines = text.splitlines()
    for name, res in resources.items():
        if not isinstance(res, dict) or not str(res.get("Type", "")).startswith(("AWS::", "Custom::")):
            continue
        rtype = str(res["Type"])
        found.append(rtype)
        line = resources.line_of(name) if isinstance(resources, LDict) else _json_line(lines, name)
        props = str(res.get("Properties", ""))
        yield from _resource(scan, entry.path, line, "cloudformation", rtype, str(name), props)
    if found:
        yield scan.ev("iac.definition", C, entry.path, 1, tool="cloudformation",
                      resource_types=sorted(set(found))[:20], resources=len(found))


def _json_line(lines: list[str], key: str) -> int:
    for n, line in enumerate(lines, 1):
        if f'"{key}"' in line:
            return n
    return 1
