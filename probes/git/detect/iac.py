"""Infrastructure as code: Terraform, CloudFormation, Bicep and CDK resource types, mapped to
the capabilities they set up (endpoints, feature groups, KMS keys, CloudTrail, budgets...).

Settings are read, not names: a resource switched off (``State: DISABLED``, ``enabled = false``,
``is_enabled = false``) shows nothing, an ECR repository scans images only with
``scan_on_push = true``, and commented-out lines are not configuration. A scheduled rule is
retraining only when what it starts reads as training (:func:`probes.git.detect.words.trains`).
An ``AWS::CodePipeline::Pipeline`` is CI/CD: its stages are classified like CI steps.
CDK apps in TypeScript are read here (comments and strings masked); Python CDK apps are read by
the code detector with the same construct table (:data:`CDK_CONSTRUCTS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.detect.ci_classify import classify
from probes.git.detect.words import serves, trains
from probes.git.scan import Scan
from probes.git.tree import Entry
from probes.git.yamlines import LDict, load_json, load_yaml

C, D = Strength.CONFIGURED, Strength.DECLARED

#: (regex over the normalised resource type, signal); normalised: lower case, '::' and '.' → '_'
TYPE_SIGNALS: tuple[tuple[re.Pattern[str], str], ...] = tuple((lazy(p), s) for p, s in (
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
    (r"sagemaker_monitoring_?schedule|sagemaker_data_quality_job|sagemaker_model_quality_job|"
     r"sagemaker_(data|model)_?(quality|bias|explainability)_?job_?definition", "monitoring.model_job"),
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
    (r"ecr_registry_scanning|inspector2_enabler|guardduty", "security.scanning"),
    (r"kubernetes_cron_job", "schedule.job"),
))

#: scheduled rules and jobs: the schedule is read from the block
_SCHEDULES = lazy(r"cloudwatch_event_rule|events_rule$|scheduler_schedule$|cloud_scheduler_job|"
                  r"kubernetes_cron_job")

#: CDK construct (``aws_cdk.<module>.<Class>``, Python or TypeScript) → signal
CDK_CONSTRUCTS: dict[str, str] = {
    "aws_sagemaker.CfnEndpoint": "serving.deployment",
    "aws_sagemaker.CfnModelPackageGroup": "registry.usage",
    "aws_sagemaker.CfnMonitoringSchedule": "monitoring.model_job",
    "aws_sagemaker.CfnDataQualityJobDefinition": "monitoring.model_job",
    "aws_sagemaker.CfnModelQualityJobDefinition": "monitoring.model_job",
    "aws_sagemaker.CfnModelBiasJobDefinition": "fairness.check",
    "aws_sagemaker.CfnModelExplainabilityJobDefinition": "explainability.check",
    "aws_sagemaker.CfnFeatureGroup": "feature_store.definition",
    "aws_sagemaker.CfnPipeline": "pipeline.definition",
    "aws_sagemaker.CfnNotebookInstance": "compute.notebook_server",
    "aws_sagemaker.CfnDomain": "compute.workspace",
    "aws_stepfunctions.StateMachine": "pipeline.definition",
    "aws_codepipeline.Pipeline": "ci.pipeline",
    "aws_codepipeline.CfnPipeline": "ci.pipeline",
    "aws_codepipeline_actions.ManualApprovalAction": "governance.approval",
    "aws_codepipeline_actions.CloudFormationCreateUpdateStackAction": "ci.deploy_step",
    "aws_codepipeline_actions.CloudFormationDeployStackInstancesAction": "ci.deploy_step",
    "aws_codepipeline_actions.CodeDeployServerDeployAction": "ci.deploy_step",
    "aws_codepipeline_actions.EcsDeployAction": "ci.deploy_step",
    "aws_applicationautoscaling.ScalableTarget": "serving.autoscaling",
    "aws_applicationautoscaling.CfnScalableTarget": "serving.autoscaling",
    "aws_kms.Key": "security.encryption",
    "aws_cloudtrail.Trail": "audit.logging",
    "aws_budgets.CfnBudget": "cost.control",
    "aws_cloudwatch.Alarm": "monitoring.rule",
    "aws_events.Rule": "schedule.job",
    "aws_lambda.DockerImageFunction": "serving.deployment",
}


def _norm(rtype: str) -> str:
    return re.sub(r"::|\.|/", "_", rtype).lower().removeprefix("microsoft_")


def is_iac(e: Entry) -> bool:
    return e.name.endswith((".tf", ".bicep")) or e.name == "cdk.json"


def detect(scan: Scan) -> Iterator[Evidence]:
    hits = scan.grep_hits()
    for entry in scan.find(is_iac):
        if entry.name == "cdk.json":
            yield scan.ev("iac.definition", C, entry.path, 1, tool="cdk")
            continue
        text = scan.text(entry)
        if text is None:
            continue
        yield from (_terraform(scan, entry, text) if entry.name.endswith(".tf")
                    else _bicep(scan, entry, text))
    cfn = [p for p, lines in sorted(hits.items()) if p.lower().endswith((".yaml", ".yml", ".json",
                                                                         ".template"))
           and any(CLOUDFORMATION.search(t) for _, t in lines)]
    scan.facts["cloudformation"] = cfn
    for path in cfn:
        if path in scan.tree:
            yield from _cloudformation(scan, scan.tree[path])
    for path in sorted(p for p in hits if p.lower().endswith(".ts")):
        if path in scan.tree:
            yield from _cdk_typescript(scan, scan.tree[path])


# --- Terraform and Bicep ---------------------------------------------------------------------

_HCL_COMMENT = lazy(r'("(?:\\.|[^"\\\n])*")|#[^\n]*|//[^\n]*|/\*[\s\S]*?\*/')


def _uncomment(text: str) -> str:
    """HCL with comments blanked (line numbers kept); strings are left alone."""
    return _HCL_COMMENT.sub(lambda m: m.group(1) or re.sub(r"[^\n]", " ", m.group(0)), text)


def _block(lines: list[str], start: int) -> str:
    """The braced block that opens on line ``start`` (0-based), at most 400 lines."""
    depth, out = 0, []
    for line in lines[start:start + 400]:
        out.append(line)
        depth += line.count("{") - line.count("}")
        if depth <= 0 and "{" in "".join(out):
            break
    return "\n".join(out)


def _terraform(scan: Scan, entry: Entry, text: str) -> Iterator[Evidence]:
    lines = _uncomment(text).splitlines()
    pattern = re.compile(r'^\s*resource\s+"([\w-]+)"\s+"([\w-]+)"')
    blocks: list[tuple[int, str, str, str]] = []
    for n, line in enumerate(lines, 1):
        m = pattern.match(line)
        if m:
            blocks.append((n, m.group(1), m.group(2), _block(lines, n - 1)))
    for n, rtype, name, block in blocks:
        related = " ".join(b for _, t, _, b in blocks if t.endswith("event_target") and
                           re.search(rf"\b{re.escape(rtype)}\.{re.escape(name)}\b", b))
        yield from _resource(scan, entry.path, n, "terraform", rtype, name, block, related)
    if blocks:
        yield scan.ev("iac.definition", C, entry.path, 1, tool="terraform",
                      resource_types=sorted({t for _, t, _, _ in blocks})[:20], resources=len(blocks))


def _bicep(scan: Scan, entry: Entry, text: str) -> Iterator[Evidence]:
    lines = _uncomment(text).splitlines()
    pattern = re.compile(r"^\s*resource\s+(\w+)\s+'([\w.]+/[\w/]+)@")
    found = []
    for n, line in enumerate(lines, 1):
        m = pattern.match(line)
        if m:
            found.append(m.group(2))
            yield from _resource(scan, entry.path, n, "bicep", m.group(2), m.group(1),
                                 _block(lines, n - 1))
    if found:
        yield scan.ev("iac.definition", C, entry.path, 1, tool="bicep",
                      resource_types=sorted(set(found))[:20], resources=len(found))


_OFF = lazy(r"\b(is_enabled|enabled|enable_logging|isEnabled|IsLogging|Enabled|EnableLogging)"
            r"['\"]?\s*[:=]\s*['\"]?false\b|\b(state|State)['\"]?\s*[:=]\s*['\"]?DISABLED\b|"
            r"^\s*count\s*=\s*0\s*$", re.I | re.M)


def disabled(block: str) -> bool:
    """Whether a resource's own settings switch it off."""
    return _OFF.search(block) is not None


def _resource(scan: Scan, path: str, line: int, tool: str, rtype: str, name: str,
              block: str, related: str = "") -> Iterator[Evidence]:
    from auditor.rules import classify_text, starts_remediation, words  # for resources only

    norm = _norm(rtype)
    attrs = {"tool": tool, "resource_type": rtype, "name": name}
    if disabled(block):
        return
    for pattern, signal in TYPE_SIGNALS:
        if not pattern.search(norm):
            continue
        if signal == "serving.autoscaling" and not re.search(r"sagemaker|endpoint|ecs|lambda", block, re.I):
            continue
        yield scan.ev(signal, C, path, line, f"{rtype} {name}", **attrs)
    if re.search(r"ecr_repository$", norm) and re.search(r"scan_?on_?push['\"]?\s*[:=]\s*['\"]?true\b",
                                                          block, re.I):
        yield scan.ev("security.scanning", C, path, line, f"{rtype} {name} scan on push", **attrs)
    if re.search(r"cloudwatch_metric_alarm|cloudwatch_alarm|monitor_metric_alert|alert_policy", norm):
        kind = "model" if classify_text(words(block)).is_model else "operational"
        yield scan.ev(f"monitoring.{kind}_rule", C, path, line, f"{rtype} {name}", **attrs)
    if _SCHEDULES.search(norm) and re.search(r"schedule(_?expression)?['\"]?\s*[:=]|\bschedule\b", block, re.I):
        yield scan.ev("schedule.job", C, path, line, f"{rtype} {name}",
                      trains=trains(f"{name} {block} {related}"), **attrs)
    if _SCHEDULES.search(norm) and re.search(r"event_?pattern", block, re.I) and \
            re.search(r"alarm|drift|model monitor", block, re.I) and starts_remediation(f"{block} {related}"):
        yield scan.ev("remediation.trigger", C, path, line, f"{rtype} {name}", event="alarm", **attrs)
    if norm.endswith(("sagemaker_endpointconfig", "sagemaker_endpoint_configuration")) and \
            re.search(r"data_?capture", block, re.I) and \
            re.search(r"enable_?capture['\"]?\s*[:=]\s*['\"]?true", block, re.I):
        yield scan.ev("monitoring.prediction_log", C, path, line, f"{rtype} {name} data capture",
                          **attrs)
    if norm.endswith("helm_release"):
        m = re.search(r'chart\s*=\s*"([^"]+)"', block)
        chart = m.group(1) if m else ""
        if "jupyterhub" in chart:
            yield scan.ev("compute.notebook_server", C, path, line, chart, tool="jupyterhub")
        if "kubecost" in chart or "opencost" in chart:
            yield scan.ev("cost.control", C, path, line, chart, tool=chart)


# --- CloudFormation -------------------------------------------------------------------------

CLOUDFORMATION = lazy(r"AWSTemplateFormatVersion|Type\"?\s*:\s*[\"']?AWS::")


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
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        if rtype == "AWS::CodePipeline::Pipeline":
            yield from _codepipeline(scan, entry.path, line, str(name), props)
        yield from _resource(scan, entry.path, line, "cloudformation", rtype, str(name), _flat(props))
    if found:
        yield scan.ev("iac.definition", C, entry.path, 1, tool="cloudformation",
                      resource_types=sorted(set(found))[:20], resources=len(found))


def _codepipeline(scan: Scan, path: str, line: int, name: str, props: dict) -> Iterator[Evidence]:
    """A CodePipeline is CI/CD: each action is classified like a CI step."""
    stages = props.get("Stages") if isinstance(props.get("Stages"), list) else []
    yield scan.ev("ci.pipeline", C, path, line, f"AWS::CodePipeline::Pipeline {name}",
                  tool="aws_codepipeline", system="aws_codepipeline", stages=len(stages),
                  scheduled=False, source="iac")
    for stage in stages:
        if not isinstance(stage, dict):
            continue
        for action in stage.get("Actions") or []:
            if not isinstance(action, dict):
                continue
            kind = action.get("ActionTypeId") if isinstance(action.get("ActionTypeId"), dict) else {}
            category = str(kind.get("Category", ""))
            text = f"{stage.get('Name', '')} {action.get('Name', '')}"
            job = str(stage.get("Name", ""))
            attrs = {"system": "aws_codepipeline", "job": job, "scheduled": False}
            if category == "Approval":
                yield scan.ev("governance.approval", C, path, line, text, **attrs)
            kinds = classify(text)
            if category == "Deploy" and "deploy" not in kinds and re.search(r"deploy|prod|dev|stag", text, re.I):
                kinds.add("deploy")
            for k, signal in (("train", "ci.train_step"), ("deploy", "ci.deploy_step"),
                              ("test", "ci.test_step")):
                if k in kinds:
                    yield scan.ev(signal, C, path, line, text, **attrs)


def _flat(node: object, depth: int = 0) -> str:
    if depth > 30:
        return ""
    if isinstance(node, dict):
        return " ".join(f"{k}: {_flat(v, depth + 1)}" for k, v in node.items())
    if isinstance(node, list):
        return " ".join(_flat(v, depth + 1) for v in node)
    return "" if node is None else str(node)


def _json_line(lines: list[str], key: str) -> int:
    for n, line in enumerate(lines, 1):
        if f'"{key}"' in line:
            return n
    return 1


# --- CDK in TypeScript ----------------------------------------------------------------------

_TS_MASK = lazy(r"//[^\n]*|/\*[\s\S]*?\*/|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`")
_TS_IMPORT = lazy(r"^\s*import\s+(?:\*\s+as\s+(\w+)|\{([^}]*)\})\s+from\s+['\"]([^'\"]+)['\"]", re.M)


def _mask_ts(text: str) -> str:
    """Comments and string contents blanked (quotes and line breaks kept)."""
    def blank(m: re.Match[str]) -> str:
        s = m.group(0)
        if s.startswith(("//", "/*")):
            return re.sub(r"[^\n]", " ", s)
        return s[0] + re.sub(r"[^\n]", " ", s[1:-1]) + s[-1]
    return _TS_MASK.sub(blank, text)


def _cdk_module(source: str) -> str | None:
    """``aws-cdk-lib/aws-sagemaker`` or ``@aws-cdk/aws-sagemaker`` → ``aws_sagemaker``."""
    m = re.fullmatch(r"(?:aws-cdk-lib|@aws-cdk)/(aws-[\w-]+)", source)
    return m.group(1).replace("-", "_") if m else ("" if source == "aws-cdk-lib" else None)


def _cdk_typescript(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    aliases: dict[str, str] = {}  # local name → "aws_module" or "aws_module.Class"
    for m in _TS_IMPORT.finditer(text):
        module = _cdk_module(m.group(3))
        if module is None:
            continue
        if m.group(1):
            aliases[m.group(1)] = module
        for part in (m.group(2) or "").split(","):
            name, _, alias = part.strip().partition(" as ")
            if name.strip():
                aliases[(alias or name).strip()] = f"{module}.{name.strip()}" if module else name.strip()
    if not aliases:
        return
    masked = _mask_ts(text)
    found = False
    for m in re.finditer(r"\bnew\s+([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\s*\(", masked):
        head = aliases.get(m.group(1))
        if head is None:
            continue
        construct = f"{head}.{m.group(2)}" if m.group(2) else head
        found = True
        signal = CDK_CONSTRUCTS.get(construct)
        if signal is None:
            continue
        line = masked.count("\n", 0, m.start()) + 1
        statement = text[m.start():_statement_end(masked, m.end())]
        yield from cdk_evidence(scan, entry.path, line, construct, signal, statement,
                                schedule=bool(re.search(r"\bschedule\s*:", _mask_ts(statement))))
    if found:
        yield scan.ev("iac.definition", C, entry.path, 1, tool="cdk", language="typescript")


def _statement_end(masked: str, start: int) -> int:
    depth = 1
    for i in range(start, min(len(masked), start + 20000)):
        ch = masked[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return min(len(masked), start + 2000)


def cdk_evidence(scan: Scan, path: str, line: int, construct: str, signal: str, statement: str,
                 schedule: bool = True) -> Iterator[Evidence]:
    """Evidence for one CDK construct (shared by the Python and TypeScript readers).
    ``statement``: the construct's source text, read for its settings and words."""
    from auditor.rules import classify_text, starts_remediation, words

    attrs = {"tool": "cdk", "construct": construct}
    if disabled(statement):
        return
    if signal == "schedule.job":
        if schedule:
            yield scan.ev(signal, C, path, line, construct, trains=trains(statement), **attrs)
        elif re.search(r"event_?pattern", statement, re.I) and \
                re.search(r"alarm|drift", statement, re.I) and starts_remediation(statement):
            yield scan.ev("remediation.trigger", C, path, line, construct, event="alarm", **attrs)
        return
    if construct.endswith("DockerImageFunction") and not serves(statement):
        yield scan.ev("deploy.function", C, path, line, construct, **attrs)
        return
    if signal == "ci.pipeline":
        yield scan.ev(signal, C, path, line, construct, system="aws_codepipeline", scheduled=False,
                      **attrs)
        return
    if signal == "monitoring.rule":
        kind = "model" if classify_text(words(statement)).is_model else "operational"
        yield scan.ev(f"monitoring.{kind}_rule", C, path, line, construct, **attrs)
        return
    yield scan.ev(signal, C, path, line, construct, **attrs)


DETECTOR = Detector(
    area="infrastructure as code",
    signals=("iac", "security", "audit", "cost", "serving", "registry", "feature_store", "pipeline",
             "compute", "monitoring", "schedule", "data_versioning", "distributed", "ci",
             "governance.approval", "fairness", "explainability", "deploy", "remediation"),
    files=Files(names=frozenset({"cdk.json"}), suffixes=(".tf", ".bicep"),
                grep=(r"AWSTemplateFormatVersion", r"Type\"?\s*:\s*[\"']?AWS::",
                      r"from\s+['\"](aws-cdk-lib|@aws-cdk/)"),
                grep_globs=("*.yaml", "*.yml", "*.json", "*.template", "*.ts")),
    run=lambda scan: detect(scan))
