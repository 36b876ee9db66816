"""SageMaker training: jobs (recent activity, multi-instance = distributed), processing jobs,
hyperparameter tuning jobs, HyperPod clusters."""

from __future__ import annotations

from typing import Any

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_JOBS = 500  # newest training jobs read per region (5 Search pages)
MAX_DISTRIBUTED = 20  # distributed jobs reported one by one per region


def collect(scan: Scan) -> None:
    training_jobs(scan)
    processing_jobs(scan)
    tuning_jobs(scan)
    hyperpod(scan)


def _instances(job: dict[str, Any]) -> int:
    rc = job.get("ResourceConfig") or {}
    groups = rc.get("InstanceGroups") or []
    if groups:
        return sum(int(g.get("InstanceCount") or 0) for g in groups)
    return int(rc.get("InstanceCount") or 0)


def training_jobs(scan: Scan) -> None:
    recent = total = distributed = 0
    for result in scan.pages("sagemaker", "Search", "Results", ("distributed", "tempo"),
                             max_items=MAX_JOBS, Resource="TrainingJob",
                             SortBy="CreationTime", SortOrder="Descending"):
        job = result.get("TrainingJob") or {}
        name = job.get("TrainingJobName", "")
        arn = job.get("TrainingJobArn") or scan.arn("sagemaker", f"training-job/{name.lower()}")
        total += 1
        is_recent = scan.recent(job.get("CreationTime"))
        recent += is_recent
        count = _instances(job)
        if count > 1 and distributed < MAX_DISTRIBUTED:
            distributed += 1
            scan.evidence("distributed.workload", S.OPERATING if is_recent else S.CONFIGURED, arn,
                          tool="sagemaker-training", job=name, instance_count=count,
                          instance_type=(job.get("ResourceConfig") or {}).get("InstanceType"),
                          status=job.get("TrainingJobStatus"))
        if job.get("RoleArn"):
            scan.env.count(**{f"role:{job['RoleArn']}": 1})
    if scan.ok:
        scan.env.count(training_regions=1, training_jobs=total, training_jobs_recent=recent)


def processing_jobs(scan: Scan) -> None:
    n = sum(1 for _ in scan.pages("sagemaker", "ListProcessingJobs", "ProcessingJobSummaries",
                                  ("tempo",), max_items=1000,
                                  CreationTimeAfter=scan.env.window))
    scan.env.count(processing_jobs_recent=n)


def tuning_jobs(scan: Scan) -> None:
    jobs = list(scan.pages("sagemaker", "ListHyperParameterTuningJobs",
                           "HyperParameterTuningJobSummaries", ("tool.tuning",), max_items=500,
                           SortBy="CreationTime", SortOrder="Descending"))
    if not jobs:
        return
    recent = sum(scan.recent(j.get("CreationTime")) for j in jobs)
    newest = jobs[0]
    scan.evidence("tool.tuning", S.OPERATING if recent else S.CONFIGURED,
                  newest.get("HyperParameterTuningJobArn", ""), tool="sagemaker",
                  feature="hyperparameter-tuning", jobs=len(jobs), recent_jobs=recent,
                  latest=newest.get("HyperParameterTuningJobName"))


def hyperpod(scan: Scan) -> None:
    for cluster in scan.pages("sagemaker", "ListClusters", "ClusterSummaries", ("distributed",)):
        status = cluster.get("ClusterStatus")
        scan.evidence("distributed.workload", S.OPERATING if status == "InService" else S.CONFIGURED,
                      cluster.get("ClusterArn", ""), tool="sagemaker-hyperpod",
                      cluster=cluster.get("ClusterName"), status=status)
