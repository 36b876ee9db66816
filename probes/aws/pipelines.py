"""SageMaker Pipelines: definitions (configured) and recent executions (operating)."""

from __future__ import annotations

from collections import defaultdict

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_EXECUTIONS = 500  # newest executions read per region, across all pipelines (one Search)
MAX_PIPELINES = 50


def collect(scan: Scan) -> None:
    pipelines = list(scan.pages("sagemaker", "ListPipelines", "PipelineSummaries",
                                ("pipeline",), max_items=MAX_PIPELINES * 10))
    if not pipelines:
        return
    scan.evidence("tool.orchestration", S.CONFIGURED, pipelines[0].get("PipelineArn", ""),
                  tool="sagemaker", feature="pipelines", pipelines=len(pipelines))
    runs: dict[str, list[dict]] = defaultdict(list)
    for result in scan.pages("sagemaker", "Search", "Results", ("pipeline.execution",),
                             max_items=MAX_EXECUTIONS, Resource="PipelineExecution",
                             SortBy="CreationTime", SortOrder="Descending"):
        ex = result.get("PipelineExecution") or {}
        arn = ex.get("PipelineArn") or ex.get("PipelineExecutionArn", "").split("/execution/")[0]
        if arn and scan.recent(ex.get("CreationTime") or ex.get("StartTime")):
            runs[arn].append(ex)
    for p in pipelines[:MAX_PIPELINES]:
        arn, name = p.get("PipelineArn", ""), p.get("PipelineName")
        scan.evidence("pipeline.definition", S.CONFIGURED, arn, tool="sagemaker-pipelines",
                      pipeline=name)
        recent = runs.get(arn) or runs.get(arn.lower()) or []
        if recent:
            scan.evidence("pipeline.execution", S.OPERATING, arn, tool="sagemaker-pipelines",
                          pipeline=name, recent_executions=len(recent),
                          last_status=recent[0].get("PipelineExecutionStatus"))
