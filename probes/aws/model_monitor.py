"""SageMaker Model Monitor and Clarify: job definitions (configured) and monitoring
schedules (operating)."""

from __future__ import annotations

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

#: list operation -> (monitoring type, extra signal it shows)
DEFINITIONS = {
    "ListDataQualityJobDefinitions": ("data-quality", None),
    "ListModelQualityJobDefinitions": ("model-quality", None),
    "ListModelBiasJobDefinitions": ("model-bias", "fairness.check"),
    "ListModelExplainabilityJobDefinitions": ("model-explainability", "explainability.check"),
}
SCHEDULE_TYPES = {"DataQuality": "data-quality", "ModelQuality": "model-quality",
                  "ModelBias": "model-bias", "ModelExplainability": "model-explainability"}


def collect(scan: Scan) -> None:
    for op, (kind, extra) in DEFINITIONS.items():
        signals = ["monitoring.model_job"] + ([extra] if extra else [])
        for d in scan.pages("sagemaker", op, "JobDefinitionSummaries", signals, max_items=200):
            arn = d.get("MonitoringJobDefinitionArn", "")
            attrs = {"tool": "sagemaker-model-monitor", "type": kind,
                     "definition": d.get("MonitoringJobDefinitionName"),
                     "endpoint": d.get("EndpointName")}
            scan.evidence("monitoring.model_job", S.CONFIGURED, arn, **attrs)
            if extra:
                scan.evidence(extra, S.CONFIGURED, arn, **{**attrs, "tool": "sagemaker-clarify"})
    for s in scan.pages("sagemaker", "ListMonitoringSchedules", "MonitoringScheduleSummaries",
                        ("monitoring.model_job", "fairness", "explainability"), max_items=200):
        if s.get("MonitoringScheduleStatus") != "Scheduled":
            continue
        kind = SCHEDULE_TYPES.get(s.get("MonitoringType") or "DataQuality", "data-quality")
        arn = s.get("MonitoringScheduleArn", "")
        scan.evidence("monitoring.model_job", S.OPERATING, arn, tool="sagemaker-model-monitor",
                      type=kind, schedule=s.get("MonitoringScheduleName"),
                      endpoint=s.get("EndpointName"))
        if kind == "model-bias":
            scan.evidence("fairness.check", S.OPERATING, arn, tool="sagemaker-clarify",
                          schedule=s.get("MonitoringScheduleName"))
        elif kind == "model-explainability":
            scan.evidence("explainability.check", S.OPERATING, arn, tool="sagemaker-clarify",
                          schedule=s.get("MonitoringScheduleName"))
