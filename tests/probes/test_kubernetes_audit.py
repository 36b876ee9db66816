"""The Kubernetes probe inside a whole audit (run_audit): capabilities, drift, partial runs."""

from __future__ import annotations

import json

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.servers.kubernetes import TOKEN, write_kubeconfig, write_snapshot
from tests.servers.kubernetes_manifests import NOW, SECRET_VALUE, manifests


@pytest.fixture(scope="module")
def assessment(kube_api, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("k8s-audit")
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", kube_api.url, TOKEN, context="prod")
    snapshot = write_snapshot(tmp / "export", manifests())
    bad = write_kubeconfig(tmp / "expired", kube_api.url, "expired-token-Hq2Vn8Rt5Jx3")
    cfg = AuditConfig(targets=[
        build_target({"name": "prod", "kind": "kubernetes", "kubeconfig": str(kubeconfig),
                      "context": "prod", "labels": {"team": "platform"}}),
        build_target({"name": "staging-export", "kind": "kubernetes", "snapshot": str(snapshot),
                      "labels": {"team": "platform"}}),
        build_target({"name": "dr", "kind": "kubernetes", "kubeconfig": str(bad),
                      "labels": {"team": "dr"}}),
    ])
    kube_api.reset()
    return run_audit(cfg, cache_dir=tmp / "cache", jobs=2, now=NOW)


def statuses(a, team: str) -> dict[str, str]:
    return {c["id"]: c["status"] for c in a["capabilities"] if c["scope"] == {"kind": "team", "name": team}}


def provided(a, source: str) -> dict[str, str]:
    """What one cluster provides: clusters are sources, not placed themselves."""
    (s,) = [s for s in a["sources"] if s["target"] == source]
    return {c["capability"]: c["status"] for c in s["provides"]}


def test_live_cluster_meets_the_capabilities_its_objects_show(assessment):
    got = provided(assessment, "prod")
    for cap in ("self_service_compute", "job_scheduling", "model_serving", "ml_pipelines",
                "feature_store", "distributed_compute", "scalable_serving", "model_monitoring",
                "versioned_images", "explainability", "access_control", "security_controls",
                "cost_monitoring", "shared_platform"):
        assert got[cap] == "met", cap
    # no repository in the audit: the team is judged on its clusters' pooled evidence
    team = statuses(assessment, "platform")
    assert all(team[cap] == "met" for cap in got if got[cap] == "met")


def test_snapshot_target_is_assessed_like_the_live_one(assessment):
    live, snap = provided(assessment, "prod"), provided(assessment, "staging-export")
    assert live == snap


def test_expired_credentials_make_capabilities_unknown_not_unmet(assessment):
    dr = statuses(assessment, "dr")
    assert dr["model_serving"] == "unknown" and dr["job_scheduling"] == "unknown"
    assert assessment["partial"] is True
    (u,) = [u for u in assessment["unobserved"] if u["target"] == "dr"]
    assert u["reason"].startswith("401 Unauthorized")


def test_image_tags_feed_version_drift(assessment):
    drift = {d["tool"]: d for d in assessment["inventory"]["drift"]}
    churn = drift["image:registry.example.com/ml/churn"]
    assert {v["version"] for v in churn["versions"]} == {"1.3.0", "1.4.2"}


def test_no_secret_and_no_write_in_a_whole_audit(assessment, kube_api):
    text = json.dumps(assessment.to_dict())
    assert TOKEN not in text and "expired-token-Hq2Vn8Rt5Jx3" not in text and SECRET_VALUE not in text
    assert kube_api.non_get() == []
