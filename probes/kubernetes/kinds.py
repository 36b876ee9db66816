"""The Kubernetes kinds this probe lists, the signals each feeds, and the platforms discovery reveals.

Only kinds named here are ever listed (one cluster-wide LIST per kind); Secrets and
ConfigMaps are deliberately absent. Discovery decides which of them exist on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE = ("image",)
GPU = ("compute.gpu_workload",)


@dataclass(frozen=True)
class KindSpec:
    group: str  # "" for the core group
    kind: str
    resource: str  # plural, as RBAC names it
    signals: tuple[str, ...]
    namespaced: bool = True
    #: the classifier method that reads this kind (``_<handler>`` in a domain module of
    #: :mod:`probes.kubernetes.classify`); empty: only its images and GPUs are read
    handler: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.kind)

    @property
    def rbac_name(self) -> str:
        """``inferenceservices.serving.kserve.io``; core resources have no group suffix."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


def _k(group: str, kind: str, resource: str, *signals: str | tuple[str, ...],
       namespaced: bool = True, handler: str = "") -> KindSpec:
    flat: list[str] = []
    for s in signals:
        flat.extend(s if isinstance(s, tuple) else (s,))
    return KindSpec(group, kind, resource, tuple(flat), namespaced, handler)


WORKLOAD = IMAGE + GPU
SERVING = ("serving.deployment",)

KINDS: tuple[KindSpec, ...] = (
    # core and built-in groups
    _k("", "Namespace", "namespaces", "security.access_control", "security.pod_security",
       "platform.shared", namespaced=False, handler="namespace"),
    _k("", "ResourceQuota", "resourcequotas", "cost.control", handler="quota"),
    _k("", "LimitRange", "limitranges", "cost.control", handler="quota"),
    _k("apps", "Deployment", "deployments", WORKLOAD, SERVING, handler="workload"),
    _k("apps", "StatefulSet", "statefulsets", WORKLOAD, SERVING, handler="workload"),
    _k("apps", "DaemonSet", "daemonsets", WORKLOAD),
    _k("batch", "Job", "jobs", WORKLOAD),
    _k("batch", "CronJob", "cronjobs", "schedule.job", WORKLOAD, handler="cronjob"),
    _k("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "serving.autoscaling", handler="hpa"),
    _k("networking.k8s.io", "NetworkPolicy", "networkpolicies", "security.network_policy", handler="netpol"),
    _k("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", "security.access_control",
       "platform.shared", handler="rolebinding"),
    _k("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings",
       "risk.cluster_admin_service_account", namespaced=False, handler="clusterrolebinding"),
    _k("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
       "security.admission_policy", namespaced=False, handler="policy"),
    # serving
    _k("serving.kserve.io", "InferenceService", "inferenceservices", SERVING,
       "serving.autoscaling", "serving.canary", "explainability.check", "monitoring.model_metric",
       IMAGE, GPU, handler="isvc"),
    _k("machinelearning.seldon.io", "SeldonDeployment", "seldondeployments", SERVING,
       "serving.autoscaling", "serving.canary", "explainability.check", WORKLOAD, handler="seldon"),
    _k("mlops.seldon.io", "Model", "models", SERVING, "serving.autoscaling",
       "explainability.check", handler="seldon_model"),
    _k("ray.io", "RayService", "rayservices", SERVING, "serving.autoscaling", WORKLOAD, handler="rayservice"),
    _k("serving.knative.dev", "Service", "services", SERVING, "serving.autoscaling", WORKLOAD, handler="knative"),
    _k("keda.sh", "ScaledObject", "scaledobjects", "serving.autoscaling", handler="scaledobject"),
    # notebooks, training, tuning
    _k("kubeflow.org", "Notebook", "notebooks", "compute.notebook_server", WORKLOAD, handler="notebook"),
    _k("kubeflow.org", "Profile", "profiles", "security.access_control", "platform.shared",
       namespaced=False, handler="profile"),
    _k("kubeflow.org", "PyTorchJob", "pytorchjobs", "distributed.workload", WORKLOAD, handler="training_job"),
    _k("kubeflow.org", "TFJob", "tfjobs", "distributed.workload", WORKLOAD, handler="training_job"),
    _k("kubeflow.org", "MPIJob", "mpijobs", "distributed.workload", WORKLOAD, handler="training_job"),
    _k("kubeflow.org", "XGBoostJob", "xgboostjobs", "distributed.workload", WORKLOAD, handler="training_job"),
    _k("kubeflow.org", "PaddleJob", "paddlejobs", "distributed.workload", WORKLOAD, handler="training_job"),
    _k("kubeflow.org", "Experiment", "experiments", "tuning.experiment", handler="katib"),
    _k("trainer.kubeflow.org", "TrainJob", "trainjobs", "distributed.workload", handler="training_job"),
    _k("ray.io", "RayCluster", "rayclusters", "distributed.workload", WORKLOAD, handler="raycluster"),
    _k("ray.io", "RayJob", "rayjobs", "distributed.workload", WORKLOAD, handler="rayjob"),
    # pipelines and schedules
    _k("argoproj.io", "Workflow", "workflows", "pipeline.execution", handler="workflow"),
    _k("argoproj.io", "CronWorkflow", "cronworkflows", "schedule.job", "pipeline.definition", IMAGE, handler="cronworkflow"),
    _k("argoproj.io", "WorkflowTemplate", "workflowtemplates", "pipeline.definition", IMAGE, handler="pipeline_def"),
    _k("argoproj.io", "ClusterWorkflowTemplate", "clusterworkflowtemplates",
       "pipeline.definition", IMAGE, namespaced=False, handler="pipeline_def"),
    _k("pipelines.kubeflow.org", "ScheduledWorkflow", "scheduledworkflows", "schedule.job",
       "pipeline.definition", handler="kfp_schedule"),
    _k("pipelines.kubeflow.org", "Pipeline", "pipelines", "pipeline.definition", handler="pipeline_def"),
    # delivery
    _k("argoproj.io", "Rollout", "rollouts", "deploy.progressive", WORKLOAD, handler="rollout"),
    _k("argoproj.io", "Application", "applications", "ci.deploy_step", handler="argocd"),
    _k("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", "ci.deploy_step", handler="flux"),
    _k("helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases", "ci.deploy_step", handler="flux"),
    # monitoring
    _k("monitoring.coreos.com", "PrometheusRule", "prometheusrules", "monitoring.model_rule",
       "monitoring.operational_rule", "monitoring.model_metric", handler="prometheusrule"),
    _k("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "monitoring.model_metric",
       "monitoring.operational_metric", handler="monitor"),
    _k("monitoring.coreos.com", "PodMonitor", "podmonitors", "monitoring.model_metric",
       "monitoring.operational_metric", handler="monitor"),
    # features
    _k("feast.dev", "FeatureStore", "featurestores", "feature_store.definition", handler="featurestore"),
    # cost and policy
    _k("kueue.x-k8s.io", "ClusterQueue", "clusterqueues", "cost.control", namespaced=False, handler="queue"),
    _k("scheduling.volcano.sh", "Queue", "queues", "cost.control", namespaced=False, handler="queue"),
    _k("kyverno.io", "ClusterPolicy", "clusterpolicies", "security.admission_policy",
       namespaced=False, handler="policy"),
    _k("kyverno.io", "Policy", "policies", "security.admission_policy", handler="policy"),
    _k("templates.gatekeeper.sh", "ConstraintTemplate", "constrainttemplates",
       "security.admission_policy", namespaced=False, handler="policy"),
    _k("aquasecurity.github.io", "VulnerabilityReport", "vulnerabilityreports", "security.scanning", handler="trivy"),
    _k("aquasecurity.github.io", "ConfigAuditReport", "configauditreports", "security.scanning", handler="trivy"),
)

BY_KEY: dict[tuple[str, str], KindSpec] = {k.key: k for k in KINDS}
GROUPS: frozenset[str] = frozenset(k.group for k in KINDS)
KIND_NAMES: frozenset[str] = frozenset(k.kind for k in KINDS)
#: kinds present on every real cluster; a snapshot without any of them was exported incompletely
ALWAYS_PRESENT = ("Namespace", "RoleBinding", "ClusterRoleBinding")


@dataclass(frozen=True)
class Platform:
    """An installed platform, recognised from the API groups/kinds discovery serves."""

    tool: str
    category: str  # tools.yaml category (some proposed: gitops, policy, ...)
    group: str
    kinds: frozenset[str] = frozenset()  # empty: any kind of the group shows it


def _p(tool: str, category: str, group: str, *kinds: str) -> Platform:
    return Platform(tool, category, group, frozenset(kinds))


PLATFORMS: tuple[Platform, ...] = (
    _p("kserve", "serving", "serving.kserve.io"),
    _p("seldon", "serving", "machinelearning.seldon.io"),
    _p("seldon-core-v2", "serving", "mlops.seldon.io"),
    _p("knative-serving", "serving", "serving.knative.dev"),
    _p("kubeflow-notebooks", "workspaces", "kubeflow.org", "Notebook"),
    _p("kubeflow", "ml_platform", "kubeflow.org", "Profile"),
    _p("kubeflow-training-operator", "distributed_compute", "kubeflow.org",
       "PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob"),
    _p("kubeflow-trainer", "distributed_compute", "trainer.kubeflow.org"),
    _p("katib", "tuning", "kubeflow.org", "Experiment"),
    _p("kubeflow-pipelines", "orchestration", "pipelines.kubeflow.org"),
    _p("argo-workflows", "orchestration", "argoproj.io", "Workflow", "CronWorkflow",
       "WorkflowTemplate"),
    _p("argo-rollouts", "progressive_delivery", "argoproj.io", "Rollout"),
    _p("argo-cd", "gitops", "argoproj.io", "Application"),
    _p("flux", "gitops", "kustomize.toolkit.fluxcd.io"),
    _p("flux", "gitops", "helm.toolkit.fluxcd.io"),
    _p("prometheus-operator", "monitoring", "monitoring.coreos.com"),
    _p("feast", "feature_store", "feast.dev"),
    _p("ray", "distributed_compute", "ray.io"),
    _p("kueue", "batch_scheduling", "kueue.x-k8s.io"),
    _p("volcano", "batch_scheduling", "scheduling.volcano.sh"),
    _p("keda", "autoscaling", "keda.sh"),
    _p("kyverno", "policy", "kyverno.io"),
    _p("gatekeeper", "policy", "templates.gatekeeper.sh"),
    _p("trivy-operator", "security_scanning", "aquasecurity.github.io"),
)


def all_signals() -> tuple[str, ...]:
    """Every signal prefix a Kubernetes target can produce."""
    out = {s for k in KINDS for s in k.signals}
    out.update(f"tool.{p.category}" for p in PLATFORMS)
    out.update({"platform.kubernetes", "security.scanning"})
    return tuple(sorted(out))
