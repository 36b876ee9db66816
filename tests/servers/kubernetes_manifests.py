"""The standard test cluster for the Kubernetes probe: two ML teams sharing one cluster.

Timestamps are relative to :data:`NOW` (fixed once per test session), so the live server and
snapshot folders built from these manifests hold exactly the same objects.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET_VALUE = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of a password; must never be reported


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat().replace("+00:00", "Z")


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "creationTimestamp": ago(days=90)}
    if namespace:
        out["namespace"] = namespace
    out.update(extra)
    return out


def crd(group: str, kind: str, plural: str, versions: tuple[str, ...] = ("v1",),
        scope: str = "Namespaced") -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta(f"{plural}.{group}"),
            "spec": {"group": group, "scope": scope,
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                               "listKind": f"{kind}List"},
                     "versions": [{"name": v, "served": True, "storage": i == 0,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}
                                  for i, v in enumerate(versions)]}}


def container(name: str, image: str, gpus: int = 0) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image,
                         "env": [{"name": "MODEL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]}
    if gpus:
        c["resources"] = {"limits": {"nvidia.com/gpu": str(gpus), "memory": "8Gi"}}
    return c


def deployment(name: str, ns: str, image: str, gpus: int = 0, ready: int = 1,
               labels: dict[str, str] | None = None, **meta_extra: Any) -> dict[str, Any]:
    labels = {"app": name, **(labels or {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, ns, labels=labels, **meta_extra),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container(name, image, gpus)]}}},
            "status": {"replicas": 2, "readyReplicas": ready, "availableReplicas": ready}}


CRDS = [
    crd("serving.kserve.io", "InferenceService", "inferenceservices", ("v1beta1",)),
    crd("serving.kserve.io", "ServingRuntime", "servingruntimes", ("v1alpha1",)),
    crd("machinelearning.seldon.io", "SeldonDeployment", "seldondeployments", ("v1", "v1alpha3")),
    crd("kubeflow.org", "Notebook", "notebooks", ("v1", "v1beta1")),
    crd("kubeflow.org", "PyTorchJob", "pytorchjobs"),
    crd("kubeflow.org", "Profile", "profiles", scope="Cluster"),
    crd("argoproj.io", "Workflow", "workflows", ("v1alpha1",)),
    crd("argoproj.io", "CronWorkflow", "cronworkflows", ("v1alpha1",)),
    crd("argoproj.io", "WorkflowTemplate", "workflowtemplates", ("v1alpha1",)),
    crd("argoproj.io", "Application", "applications", ("v1alpha1",)),
    crd("monitoring.coreos.com", "PrometheusRule", "prometheusrules"),
    crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
    crd("feast.dev", "FeatureStore", "featurestores", ("v1alpha1",)),
    crd("ray.io", "RayCluster", "rayclusters"),
    crd("ray.io", "RayService", "rayservices"),
    crd("keda.sh", "ScaledObject", "scaledobjects", ("v1alpha1",)),
    crd("kyverno.io", "ClusterPolicy", "clusterpolicies", scope="Cluster"),
    crd("aquasecurity.github.io", "VulnerabilityReport", "vulnerabilityreports", ("v1alpha1",)),
]


def _objects() -> list[dict[str, Any]]:
    a, b = "ml-team-a", "ml-team-b"
    objs: list[dict[str, Any]] = list(CRDS)
    objs += [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": meta(a, labels={"team": "fraud", "pod-security.kubernetes.io/enforce": "restricted"})},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(b, labels={"team": "pricing"})},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("kube-system")},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("sandbox")},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db", a), "type": "Opaque",
         "data": {"password": SECRET_VALUE}},
        # workloads and images (the churn image at two tags: drift)
        deployment("churn-api", a, "registry.example.com/ml/churn:1.4.2", gpus=1, ready=2),
        deployment("churn-shadow", b, "registry.example.com/ml/churn:1.3.0", ready=0),
        deployment("triton", a, "nvcr.io/nvidia/tritonserver:24.01-py3", ready=1),
        deployment("batch-ui", b, "nginx", ready=1),
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("node-exporter", "kube-system"),
         "spec": {"template": {"spec": {"containers": [container(
             "exporter", "quay.io/prometheus/node-exporter@sha256:" + "ab" * 32)]}}},
         "status": {"numberReady": 3}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("retrain-nightly", a),
         "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
             "containers": [container("train", "registry.example.com/ml/trainer:latest", gpus=2)]}}}}},
         "status": {"lastScheduleTime": ago(hours=20), "lastSuccessfulTime": ago(hours=19)}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("old-report", b),
         "spec": {"schedule": "@monthly", "suspend": True, "jobTemplate": {"spec": {"template": {"spec": {
             "containers": [container("report", "python:3.11-slim")]}}}}},
         "status": {"lastScheduleTime": ago(days=200)}},
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": meta("retrain-nightly-28999", a, ownerReferences=[
             {"apiVersion": "batch/v1", "kind": "CronJob", "name": "retrain-nightly", "uid": "u1"}]),
         "spec": {"template": {"spec": {"containers": [container("train", "registry.example.com/ml/trainer:latest", gpus=2)]}}},
         "status": {"succeeded": 1}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("triton", a),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triton"},
                  "minReplicas": 1, "maxReplicas": 4,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("batch-ui", b),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "batch-ui"},
                  "minReplicas": 1, "maxReplicas": 3}},
        # serving
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta("churn", a),
         "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 5, "canaryTrafficPercent": 10,
                                "logger": {"mode": "all", "url": "http://broker.ml-team-a/"},
                                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "models:/churn/3",
                                          "resources": {"limits": {"nvidia.com/gpu": "1"}}}},
                  "explainer": {"alibi": {"type": "AnchorTabular", "storageUri": "s3://models/churn/explainer"}}},
         "status": {"url": "http://churn.ml-team-a.example.com",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ago(days=1)}]}},
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta("churn-v2", b),
         "spec": {"predictor": {"sklearn": {"storageUri": "gs://models/churn-v2"}}},
         "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "metadata": meta("fraud", b),
         "spec": {"predictors": [{"name": "default", "replicas": 1, "traffic": 100,
                                  "graph": {"name": "classifier", "implementation": "MLFLOW_SERVER",
                                            "modelUri": "models:/fraud/Production"},
                                  "componentSpecs": [{"spec": {"containers": [
                                      container("classifier", "seldonio/mlflowserver:1.17.1")]}}],
                                  "explainer": {"type": "AnchorTabular"}}]},
         "status": {"state": "Available"}},
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta("fraud-scaler", b),
         "spec": {"scaleTargetRef": {"name": "fraud-default-0-classifier"}, "minReplicaCount": 1,
                  "maxReplicaCount": 10, "triggers": [{"type": "prometheus"}]}},
        {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": meta("llm", b),
         "spec": {"rayClusterConfig": {"enableInTreeAutoscaling": True, "headGroupSpec": {"template": {"spec": {
             "containers": [container("ray-head", "rayproject/ray:2.9.0", gpus=0)]}}}}},
         "status": {"serviceStatus": "Running"}},
        # notebooks, training, features, pipelines
        {"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": meta("alice-nb", a),
         "spec": {"template": {"spec": {"containers": [container("alice-nb", "kubeflownotebookswg/jupyter-scipy:v1.8.0")]}}},
         "status": {"readyReplicas": 1}},
        {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": meta("bert-finetune", b),
         "spec": {"pytorchReplicaSpecs": {
             "Master": {"replicas": 1, "template": {"spec": {"containers": [container("pytorch", "registry.example.com/ml/bert:2.0", gpus=4)]}}},
             "Worker": {"replicas": 3, "template": {"spec": {"containers": [container("pytorch", "registry.example.com/ml/bert:2.0", gpus=4)]}}}}},
         "status": {"conditions": [{"type": "Created", "status": "True"}, {"type": "Succeeded", "status": "True"}]}},
        {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta("research", b),
         "spec": {"headGroupSpec": {"template": {"spec": {"containers": [container("head", "rayproject/ray:2.9.0")]}}},
                  "workerGroupSpecs": [{"replicas": 2, "template": {"spec": {"containers": [container("w", "rayproject/ray:2.9.0")]}}}]},
         "status": {"state": "ready"}},
        {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": meta(a),
         "spec": {"owner": {"kind": "User", "name": "alice@example.com"}}},
        {"apiVersion": "feast.dev/v1alpha1", "kind": "FeatureStore", "metadata": meta("features", b),
         "spec": {"feastProject": "pricing"}, "status": {"phase": "Ready"}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": meta("train-pipeline", a),
         "spec": {"templates": [{"name": "prep", "container": {"image": "registry.example.com/ml/prep:0.3"}},
                                {"name": "train", "container": {"image": "registry.example.com/ml/trainer:latest"}}]}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": meta("weekly-eval", b),
         "spec": {"schedule": "0 6 * * 1", "workflowSpec": {"templates": [
             {"name": "eval", "container": {"image": "registry.example.com/ml/eval:1.0"}}]}},
         "status": {"lastScheduledTime": ago(days=3)}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("ml-serving", "argocd"),
         "spec": {"source": {"repoURL": "https://git.example.com/ml/deploy.git", "path": "serving"},
                  "destination": {"namespace": a}, "syncPolicy": {"automated": {"prune": True}}}},
        # monitoring
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta("churn-model", a),
         "spec": {"groups": [{"name": "churn", "rules": [
             {"alert": "ChurnFeatureDrift", "expr": "max(feature_psi{model=\"churn\"}) > 0.2",
              "labels": {"severity": "warning"}},
             {"alert": "ChurnLatencyHigh", "expr": "histogram_quantile(0.99, rate(request_duration_seconds_bucket[5m])) > 0.5"},
             {"record": "churn:accuracy:1d", "expr": "avg_over_time(model_accuracy[1d])"},
             {"alert": "ChurnErrors", "expr": "rate(http_requests_total{code=~\"5..\"}[5m]) > 1"}]}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta("kserve-models", a),
         "spec": {"selector": {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]},
                  "endpoints": [{"port": "metrics"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta("ui", b),
         "spec": {"selector": {"matchLabels": {"app": "batch-ui"}}}},
        # security and cost
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny", a),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("gpu-quota", a),
         "spec": {"hard": {"requests.nvidia.com/gpu": "8", "limits.memory": "256Gi"}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta("defaults", b),
         "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("team-edit", a),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
         "subjects": [{"kind": "Group", "name": "team-fraud", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("team-edit", b),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
         "subjects": [{"kind": "User", "name": "bob@example.com", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("sa-view", "sandbox"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "sandbox"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("ci-admin"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("cluster-admin"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "Group", "name": "system:masters"}]},
        {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": meta("require-signed-images"),
         "spec": {"validationFailureAction": "Enforce",
                  "rules": [{"name": "verify", "verifyImages": [{"imageReferences": ["registry.example.com/*"]}]}]}},
        {"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
         "metadata": meta("replicaset-churn-api-7d9-churn-api", a),
         "report": {"summary": {"criticalCount": 2, "highCount": 5}}},
    ]
    # argo runs of the train pipeline: 3 recent successes, one old failure
    for i, (days, phase) in enumerate([(1, "Succeeded"), (2, "Succeeded"), (4, "Succeeded"), (90, "Failed")]):
        objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                     "metadata": meta(f"train-pipeline-{i:05d}", a, generateName="train-pipeline-"),
                     "spec": {"workflowTemplateRef": {"name": "train-pipeline"}},
                     "status": {"phase": phase, "startedAt": ago(days=days, hours=1), "finishedAt": ago(days=days)}})
    # enough small Deployments in a third namespace that listing takes several pages
    for i in range(12):
        objs.append(deployment(f"svc-{i:02d}", "sandbox", f"ghcr.io/example/svc-{i % 3}:v{i}"))
    return objs


_CACHE: list[dict[str, Any]] = []


def manifests() -> list[dict[str, Any]]:
    """A fresh deep copy of the standard cluster's objects (CRDs first)."""
    if not _CACHE:
        _CACHE.extend(_objects())
    return copy.deepcopy(_CACHE)
