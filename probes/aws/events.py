"""EventBridge rules and EventBridge Scheduler schedules: scheduled pipelines (job scheduling),
alarm -> rule -> pipeline/Lambda chains (alert-driven remediation), and model-approval ->
deployment automation."""

from __future__ import annotations

import json
import re
from typing import Any

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_RULES = 300  # rules whose targets are read per region (one ListTargetsByRule each)
PIPELINE_KINDS = {"sagemaker-pipeline", "codepipeline", "codebuild", "step-functions", "batch",
                  "ecs-task"}
ML_NAME = re.compile(r"(?i)(train|retrain|score|scoring|batch|pipeline|model|ml|inference|feature)")
_UNIVERSAL = {"sagemaker:startpipelineexecution": "sagemaker-pipeline",
              "codebuild:startbuild": "codebuild",
              "codepipeline:startpipelineexecution": "codepipeline",
              "sfn:startexecution": "step-functions", "batch:submitjob": "batch"}


def target_kind(arn: str) -> str | None:
    a = arn.lower()
    if ":aws-sdk:" in a:
        return _UNIVERSAL.get(a.split(":aws-sdk:", 1)[1])
    for needle, kind in ((":sagemaker:", "sagemaker-pipeline"), (":codepipeline:", "codepipeline"),
                         (":codebuild:", "codebuild"), (":states:", "step-functions"),
                         (":batch:", "batch"), (":ecs:", "ecs-task"), (":lambda:", "lambda")):
        if needle in a:
            if kind == "sagemaker-pipeline" and ":pipeline/" not in a:
                return None
            return kind
    return None


def _scheduled_kind(arn: str) -> str | None:
    kind = target_kind(arn)
    if kind in PIPELINE_KINDS or (kind == "lambda" and ML_NAME.search(arn.rsplit(":", 1)[-1])):
        return kind
    return None


def collect(scan: Scan) -> None:
    rules(scan)
    schedules(scan)


def rules(scan: Scan) -> None:
    for i, rule in enumerate(scan.pages("events", "ListRules", "Rules",
                                        ("schedule", "remediation", "ci.deploy_step"))):
        if i >= MAX_RULES:
            scan.unobserved(f"EventBridge rules beyond the first {MAX_RULES} in {scan.region}",
                            "too many rules; the rest were not read")
            break
        pattern = _pattern(rule.get("EventPattern"))
        schedule = rule.get("ScheduleExpression")
        if not schedule and not pattern:
            continue
        targets = [t.get("Arn", "") for t in scan.pages(
            "events", "ListTargetsByRule", "Targets", ("schedule", "remediation"),
            Rule=rule.get("Name"), EventBusName=rule.get("EventBusName") or "default")]
        strength = S.CONFIGURED if rule.get("State") == "ENABLED" else S.DECLARED
        arn, name = rule.get("Arn", ""), rule.get("Name")
        if schedule:
            kinds = sorted({k for t in targets if (k := _scheduled_kind(t))})
            if kinds:
                scan.evidence("schedule.job", strength, arn, tool="eventbridge", rule=name,
                              schedule=schedule, targets=kinds, state=rule.get("State"))
            continue
        kinds = sorted({k for t in targets if (k := target_kind(t))})
        if not kinds:
            continue
        sources = _as_list(pattern.get("source"))
        details = _as_list(pattern.get("detail-type"))
        if "aws.cloudwatch" in sources and any("Alarm State Change" in d for d in details):
            alarms = _as_list((pattern.get("detail") or {}).get("alarmName"))
            scan.evidence("remediation.trigger", strength, arn, tool="eventbridge", rule=name,
                          chain="alarm->eventbridge->" + "+".join(kinds),
                          alarms=[str(a) for a in alarms][:20] or None)
        elif "aws.sagemaker" in sources and any("Model Package State Change" in d for d in details):
            scan.evidence("ci.deploy_step", strength, arn, tool="eventbridge", rule=name,
                          trigger="model-package-approval", targets=kinds)
        elif "aws.sagemaker" in sources and any("Model Monitor" in d or "Monitoring" in d
                                                for d in details):
            scan.evidence("remediation.trigger", strength, arn, tool="eventbridge", rule=name,
                          chain="model-monitor->eventbridge->" + "+".join(kinds))


def schedules(scan: Scan) -> None:
    for s in scan.pages("scheduler", "ListSchedules", "Schedules", ("schedule",)):
        kind = _scheduled_kind((s.get("Target") or {}).get("Arn", ""))
        if not kind:
            continue
        scan.evidence("schedule.job", S.CONFIGURED if s.get("State") == "ENABLED" else S.DECLARED,
                      s.get("Arn", ""), tool="eventbridge-scheduler", schedule_name=s.get("Name"),
                      group=s.get("GroupName"), targets=[kind], state=s.get("State"))


def _pattern(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
