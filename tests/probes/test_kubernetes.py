"""Kubernetes probe against the in-test API server, through the real ``kubernetes`` client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.config import ConfigError, build_target
from tests.servers.kubernetes import (
    TOKEN,
    KubeApiServer,
    evidence_keys,
    run_probe,
    write_kubeconfig,
    write_snapshot,
)
from tests.servers.kubernetes_manifests import SECRET_VALUE, manifests


@pytest.fixture(scope="module")
def live(kube_api: KubeApiServer, tmp_path_factory: pytest.TempPathFactory):
    """One live audit of the standard cluster with small pages, and the requests it sent."""
    tmp = tmp_path_factory.mktemp("k8s-live")
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", kube_api.url, TOKEN, context="prod")
    kube_api.reset()
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig), "context": "prod",
                                      "page_size": 4}, tmp)
    return evidence, unobserved, list(kube_api.requests)


def by_signal(evidence, signal):
    return {e.locator: e for e in evidence if e.signal == signal}


def test_live_audit_completes_without_unobserved(live):
    evidence, unobserved, _ = live
    assert unobserved == []
    assert len(evidence) > 60


def test_server_version_feeds_drift_inventory(live):
    (ev,) = by_signal(live[0], "platform.kubernetes").values()
    assert ev.attributes["tool"] == "kubernetes" and ev.attributes["version"] == "v1.31.4"


def test_installed_platforms_come_from_discovery(live):
    tools = {(e.signal, e.attributes["tool"]) for e in live[0] if e.signal.startswith("tool.")}
    assert ("tool.serving", "kserve") in tools
    assert ("tool.serving", "seldon") in tools
    assert ("tool.orchestration", "argo-workflows") in tools
    assert ("tool.feature_store", "feast") in tools
    assert ("tool.monitoring", "prometheus-operator") in tools
    assert ("tool.security_scanning", "trivy-operator") in tools
    # Argo CD shares the argoproj.io group with Argo Workflows but is its own tool
    assert ("tool.gitops", "argo-cd") in tools
    assert not any(t == "knative-serving" for _, t in tools)  # not installed


def test_inference_service_readiness_canary_logger_explainer_and_model_link(live):
    evidence = live[0]
    loc = "k8s://prod/ml-team-a/InferenceService/churn"
    serving = by_signal(evidence, "serving.deployment")
    assert str(serving[loc].strength) == "operating"
    assert serving[loc].attributes["links_to"] == ["model:churn"]
    assert str(serving["k8s://prod/ml-team-b/InferenceService/churn-v2"].strength) == "configured"
    assert by_signal(evidence, "serving.autoscaling")[loc].attributes["max_replicas"] == 5
    assert by_signal(evidence, "serving.canary")[loc].attributes["traffic_percent"] == 10
    assert by_signal(evidence, "explainability.check")[loc].attributes["explainer"] == "alibi"
    assert by_signal(evidence, "monitoring.model_metric")[loc].attributes["source"] == "kserve-logger"


def test_other_serving_platforms(live):
    serving = by_signal(live[0], "serving.deployment")
    fraud = serving["k8s://prod/ml-team-b/SeldonDeployment/fraud"]
    assert str(fraud.strength) == "operating" and fraud.attributes["links_to"] == ["model:fraud"]
    assert "k8s://prod/ml-team-b/RayService/llm" in serving
    triton = serving["k8s://prod/ml-team-a/Deployment/triton"]  # a model server by its image
    assert triton.attributes["runtime"] == "tritonserver"
    assert "k8s://prod/ml-team-b/Deployment/batch-ui" not in serving  # nginx is not model serving


def test_autoscalers_count_only_when_they_scale_serving_workloads(live):
    scaling = by_signal(live[0], "serving.autoscaling")
    assert scaling["k8s://prod/ml-team-a/HorizontalPodAutoscaler/triton"].attributes["serving"] == "Deployment/triton"
    keda = scaling["k8s://prod/ml-team-b/ScaledObject/fraud-scaler"]
    assert keda.attributes["serving"] == "SeldonDeployment/fraud"
    assert "k8s://prod/ml-team-b/HorizontalPodAutoscaler/batch-ui" not in scaling


def test_images_versioned_unversioned_digest_and_drift(live):
    evidence = live[0]
    versioned = [e for e in evidence if e.signal == "image.versioned"]
    unversioned = [e for e in evidence if e.signal == "image.unversioned"]
    churn = {e.attributes["version"] for e in versioned if e.attributes["tool"] == "image:registry.example.com/ml/churn"}
    assert churn == {"1.4.2", "1.3.0"}  # the same image at two tags: drift
    assert {e.attributes["tool"] for e in unversioned} >= {"image:registry.example.com/ml/trainer",
                                                           "image:docker.io/library/nginx"}
    pinned = [e for e in versioned if e.attributes["digest_pinned"]]
    assert pinned and pinned[0].attributes["links_to"][1].startswith("image-digest:sha256:")
    for e in versioned + unversioned:
        assert e.attributes["links_to"][0] == e.attributes["tool"]
    # the Job a CronJob created is not reported a second time
    assert not any("/Job/" in e.locator for e in evidence)


def test_gpu_notebooks_distributed_and_features(live):
    evidence = live[0]
    gpu = by_signal(evidence, "compute.gpu_workload")
    assert gpu["k8s://prod/ml-team-a/Deployment/churn-api"].attributes["gpus"] == 1
    assert gpu["k8s://prod/ml-team-b/PyTorchJob/bert-finetune"].attributes["gpus"] == 8
    nb = by_signal(evidence, "compute.notebook_server")["k8s://prod/ml-team-a/Notebook/alice-nb"]
    assert str(nb.strength) == "operating"
    dist = by_signal(evidence, "distributed.workload")
    assert str(dist["k8s://prod/ml-team-b/PyTorchJob/bert-finetune"].strength) == "operating"
    assert dist["k8s://prod/ml-team-b/RayCluster/research"].attributes["replicas"] == 3
    assert "k8s://prod/ml-team-b/FeatureStore/features" in by_signal(evidence, "feature_store.definition")


def test_schedules_and_pipelines(live):
    evidence = live[0]
    sched = by_signal(evidence, "schedule.job")
    nightly = sched["k8s://prod/ml-team-a/CronJob/retrain-nightly"]
    assert str(nightly.strength) == "operating" and nightly.attributes["schedule"] == "0 2 * * *"
    old = sched["k8s://prod/ml-team-b/CronJob/old-report"]
    assert str(old.strength) == "configured" and old.attributes["suspended"] is True
    assert str(sched["k8s://prod/ml-team-b/CronWorkflow/weekly-eval"].strength) == "operating"
    defs = by_signal(evidence, "pipeline.definition")
    assert "k8s://prod/ml-team-a/WorkflowTemplate/train-pipeline" in defs
    (run,) = by_signal(evidence, "pipeline.execution").values()
    assert str(run.strength) == "operating"
    assert run.attributes | {} == run.attributes and run.attributes["runs"] == 4
    assert run.attributes["recent_runs"] == 3 and run.attributes["failed"] == 1


def test_prometheus_rules_split_into_model_and_operational(live):
    evidence = live[0]
    model = by_signal(evidence, "monitoring.model_rule")
    assert list(model) == ["k8s://prod/ml-team-a/PrometheusRule/churn-model#churn/ChurnFeatureDrift"]
    (ops,) = by_signal(evidence, "monitoring.operational_rule").values()
    assert ops.attributes["names"] == ["ChurnErrors", "ChurnLatencyHigh"]
    metrics = by_signal(evidence, "monitoring.model_metric")
    assert metrics["k8s://prod/ml-team-a/ServiceMonitor/kserve-models"].attributes["selects"] == [
        "ml-team-a/InferenceService/churn"]
    assert "k8s://prod/ml-team-a/PrometheusRule/churn-model#churn/churn:accuracy:1d" in metrics
    assert "k8s://prod/ml-team-b/ServiceMonitor/ui" in by_signal(evidence, "monitoring.operational_metric")


def test_security_cost_and_tenancy(live):
    evidence = live[0]
    assert by_signal(evidence, "security.network_policy")[
        "k8s://prod/ml-team-a/NetworkPolicy/default-deny"].attributes["default_deny"] is True
    cost = by_signal(evidence, "cost.control")
    assert cost["k8s://prod/ml-team-a/ResourceQuota/gpu-quota"].attributes["gpu_quota"] is True
    assert "k8s://prod/ml-team-b/LimitRange/defaults" in cost
    access = by_signal(evidence, "security.access_control")
    assert {"k8s://prod/Profile/ml-team-a", "k8s://prod/Namespace/ml-team-b"} <= set(access)
    assert "k8s://prod/Namespace/sandbox" not in access  # only a service-account binding there
    (shared,) = by_signal(evidence, "platform.shared").values()
    assert shared.attributes["team_names"] == ["fraud", "pricing"] and str(shared.strength) == "operating"
    risk = by_signal(evidence, "risk.cluster_admin_service_account")
    assert list(risk) == ["k8s://prod/ClusterRoleBinding/ci-admin"]  # not the system:masters group
    policy = by_signal(evidence, "security.admission_policy")["k8s://prod/ClusterPolicy/require-signed-images"]
    assert policy.attributes["action"] == "Enforce" and policy.attributes["verify_images"] is True
    scans = by_signal(evidence, "security.scanning")
    assert scans["k8s://prod/ml-team-a/VulnerabilityReport"].attributes["critical"] == 2
    assert by_signal(evidence, "security.pod_security")["k8s://prod/Namespace/ml-team-a"].attributes[
        "enforce"] == "restricted"


def test_only_get_one_paginated_cluster_wide_list_per_kind(live, kube_api):
    _, _, requests = live
    assert requests and all(r.method == "GET" for r in requests)
    assert kube_api.non_get() == []
    lists = [r for r in requests if "limit" in r.query]
    paths = [r.path for r in lists]
    assert not any("/namespaces/" in p for p in paths)  # no loop over namespaces, no per-object GET
    assert not any(p.endswith(("/secrets", "/configmaps", "/pods")) for p in paths)
    deployments = [r for r in lists if r.path == "/apis/apps/v1/deployments"]
    assert len(deployments) >= 4  # 16 Deployments in pages of 4: pagination really used
    assert all("continue" in r.query for r in deployments[1:])
    assert all(r.query["limit"] == ["4"] for r in lists)
    firsts = [p for r, p in zip(lists, paths, strict=True) if "continue" not in r.query]
    assert len(firsts) == len(set(firsts))  # each kind listed exactly once


def test_secrets_never_reported(live):
    evidence, unobserved, _ = live
    text = json.dumps([e.to_dict() for e in evidence] + [u.to_dict() for u in unobserved])
    assert SECRET_VALUE not in text and TOKEN not in text


def test_snapshot_gives_the_same_evidence_as_the_live_cluster(live, tmp_path):
    folder = write_snapshot(tmp_path / "export", manifests())
    evidence, unobserved = run_probe({"snapshot": str(folder)}, tmp_path)
    assert unobserved == []
    assert evidence_keys(evidence) == evidence_keys(live[0])


def test_legacy_discovery_gives_the_same_evidence(live, kube_api_factory, tmp_path):
    server = kube_api_factory(aggregated=False)
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN, context="prod")
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig), "context": "prod"}, tmp_path)
    assert unobserved == [] and evidence_keys(evidence) == evidence_keys(live[0])
    group_docs = [r.path for r in server.requests if r.path.startswith("/apis/") and r.path.count("/") == 3]
    assert "/apis/serving.kserve.io/v1beta1" in group_docs
    assert "/apis/storage.k8s.io/v1" not in group_docs  # only groups the probe knows
    assert server.non_get() == []


def test_namespace_include_and_exclude(kube_api, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kc", kube_api.url, TOKEN)
    evidence, _ = run_probe({"kubeconfig": str(kubeconfig), "namespaces": {
        "include": ["ml-*"], "exclude": ["ml-team-b"]}}, tmp_path)
    namespaced = [e.locator.split("/")[3] for e in evidence if e.locator.count("/") >= 5]
    assert namespaced and set(namespaced) == {"ml-team-a"}
    assert not any(e.signal == "platform.shared" for e in evidence)  # one team left in scope
    # cluster-scoped objects are still seen
    assert any(e.locator == "k8s://prod/ClusterRoleBinding/ci-admin" for e in evidence)


def test_settings_need_exactly_one_source(tmp_path):
    with pytest.raises(ConfigError, match="either snapshot or a live cluster"):
        build_target({"name": "x", "kind": "kubernetes", "snapshot": str(tmp_path), "context": "prod"})
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({"name": "x", "kind": "kubernetes", "contxt": "prod"})
    with pytest.raises(ConfigError, match="page_size"):
        build_target({"name": "x", "kind": "kubernetes", "page_size": 0})


def test_shipped_clusterrole_is_read_only_and_enough(kube_api_factory, tmp_path, live):
    import yaml

    from probes.kubernetes.kinds import KINDS

    path = Path(__file__).parents[2] / "docs/permissions/kubernetes-clusterrole.yaml"
    role = next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "ClusterRole")
    allowed = set()
    for rule in role["rules"]:
        assert rule["verbs"] == ["list"]
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert resource not in ("secrets", "configmaps", "*")
                allowed.add(f"{resource}.{group}" if group else resource)
    assert {k.rbac_name for k in KINDS} <= allowed
    # a server enforcing exactly this role: the audit sees everything it saw as cluster-admin
    server = kube_api_factory(allow=frozenset(allowed))
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN, context="prod")
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig), "context": "prod"}, tmp_path)
    assert unobserved == [] and evidence_keys(evidence) == evidence_keys(live[0])
