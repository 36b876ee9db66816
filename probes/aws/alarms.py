"""CloudWatch alarms on SageMaker: model-quality/drift alarms versus latency/error alarms,
and alarms whose action starts a remediation (Lambda, SSM Automation) directly."""

from __future__ import annotations

import re
from typing import Any

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_ALARMS = 1000
OPERATIONAL = {
    "invocations", "invocationsperinstance", "modellatency", "overheadlatency",
    "invocation4xxerrors", "invocation5xxerrors", "invocationmodelerrors", "modelsetuptime",
    "cpuutilization", "memoryutilization", "gpuutilization", "gpumemoryutilization",
    "diskutilization", "concurrentrequestspermodel", "modelloadingwaittime",
}
MODEL_METRIC = re.compile(r"(?i)(drift|baseline|violation|accuracy|auc|f1|precision|recall|rmse|"
                          r"\bmae\b|mse|r2|psi|bias|explainab|feature_|prediction|quality)")
MODEL_NAMESPACE = re.compile(r"(?i)(data-metrics|model-metrics|modelmonitor|model-monitor)")


def classify(namespace: str, metric: str, dimensions: list[dict[str, Any]]) -> str | None:
    """'model' | 'operational' | None (an alarm unrelated to ML serving)."""
    ns = namespace or ""
    if MODEL_NAMESPACE.search(ns) or (MODEL_METRIC.search(metric or "")
                                      and metric.lower() not in OPERATIONAL):
        return "model"
    dims = {d.get("Name") for d in dimensions or []}
    if ns.lower().startswith(("aws/sagemaker", "/aws/sagemaker")) or "EndpointName" in dims:
        return "operational" if (metric or "").lower() in OPERATIONAL or "EndpointName" in dims else None
    return None


def _metrics(alarm: dict[str, Any]) -> list[tuple[str, str, list]]:
    if alarm.get("MetricName"):
        return [(alarm.get("Namespace", ""), alarm["MetricName"], alarm.get("Dimensions") or [])]
    out = []
    for q in alarm.get("Metrics") or []:
        m = (q.get("MetricStat") or {}).get("Metric") or {}
        if m.get("MetricName"):
            out.append((m.get("Namespace", ""), m["MetricName"], m.get("Dimensions") or []))
    return out


def collect(scan: Scan) -> None:
    for alarm in scan.pages("cloudwatch", "DescribeAlarms", "MetricAlarms",
                            ("monitoring", "remediation"), max_items=MAX_ALARMS,
                            AlarmTypes=["MetricAlarm"]):
        kinds = {classify(*m) for m in _metrics(alarm)} - {None}
        if not kinds:
            continue
        kind = "model" if "model" in kinds else "operational"
        arn, name = alarm.get("AlarmArn", ""), alarm.get("AlarmName")
        metric = alarm.get("MetricName") or ",".join(m[1] for m in _metrics(alarm))[:100]
        endpoint = next((d.get("Value") for *_, dims in _metrics(alarm) for d in dims
                         if d.get("Name") == "EndpointName"), None)
        actions = alarm.get("AlarmActions") or []
        scan.evidence(f"monitoring.{kind}_rule", S.CONFIGURED, arn, tool="cloudwatch",
                      alarm=name, metric=metric, endpoint=endpoint, state=alarm.get("StateValue"),
                      actions=len(actions), actions_enabled=alarm.get("ActionsEnabled"))
        enabled = alarm.get("ActionsEnabled", True)
        fixers = [a for a in actions if ":lambda:" in a or ":automation-definition/" in a]
        if fixers:
            scan.evidence("remediation.trigger", S.CONFIGURED if enabled else S.DECLARED, arn,
                          tool="cloudwatch", alarm=name, chain="alarm->" + (
                              "lambda" if ":lambda:" in fixers[0] else "ssm-automation"),
)
        elif any(":sns:" in a for a in actions):
            scan.evidence("monitoring.alert_routing", S.CONFIGURED if enabled else S.DECLARED, arn,
                          tool="cloudwatch", alarm=name, route="sns")
