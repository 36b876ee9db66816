"""The signal prefixes the AWS probe may emit (a region or account that cannot be read makes
them unknown)."""

from __future__ import annotations

SIGNALS: tuple[str, ...] = (
    "compute.notebook_server", "compute.workspace", "platform.shared",
    "distributed.workload", "tool.tuning", "tool.orchestration", "tool.serving",
    "tool.model_registry", "pipeline.definition", "pipeline.execution",
    "serving.deployment", "serving.autoscaling", "schedule.job", "ci.pipeline",
    "ci.deploy_step", "ci.test_step", "feature_store.definition", "monitoring.model_job",
    "monitoring.model_rule", "monitoring.operational_rule", "monitoring.alert_routing",
    "fairness.check", "explainability.check", "remediation.trigger", "docs.model_card",
    "registry.model_version", "governance.approval", "metadata.described",
    "data_versioning.store", "image.versioned", "image.unversioned", "security.scanning",
    "security.encryption", "security.access_control", "security.network_policy",
    "audit.logging", "cost.control", "residency.region", "tempo",
)
