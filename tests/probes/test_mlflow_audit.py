"""Whole audits: MLflow servers together with the git repository their runs cite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target


def _audit(tmp_path: Path, url: str, repo: str | None = None, team: str = "risk") -> dict[str, Any]:
    targets = [build_target({"name": "mlflow", "kind": "mlflow", "tracking_uri": url,
                             "labels": {"team": team}})]
    if repo:
        targets.append(build_target({"name": "churn-repo", "kind": "git", "path": repo,
                                     "labels": {"team": team}}))
    return run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)


def _caps(a: dict[str, Any], scope: str = "mlflow", kind: str = "target") -> dict[str, str]:
    return {c["id"]: c["status"] for c in a["capabilities"]
            if c["scope"] == {"kind": kind, "name": scope}}


def _placement(a: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    return next(p for p in a["placements"] if p["framework"] == "seven_stages"
                and p["scope"] == {"kind": kind, "name": name})


def test_production_server_with_its_repository(mlflow_servers, tmp_path) -> None:
    srv = mlflow_servers["production"]
    a = _audit(tmp_path, srv.url, srv.facts["repo"])
    assert not [u for u in a["unobserved"] if u["probe"] == "mlflow"]

    # the inflection point: the runs' commit resolves in the audited repository
    links = [link for link in a["links"] if link["kind"] == "commit"]
    assert len(links) == 3  # churn-training, churn-monitoring and fraud-training cite it
    by_id = {e["id"]: e for e in a["evidence"]}
    for link in links:
        assert link["key"] == f"commit:{srv.facts['commit']}"
        assert (link["from_target"], link["to_target"]) == ("mlflow", "churn-repo")
        assert by_id[link["from"]]["signal"] == "lineage.code"
        assert by_id[link["from"]]["locator"].startswith("mlflow://")
        assert by_id[link["to"]]["locator"].endswith(srv.facts["commit"])

    caps = _caps(a)
    for met in ("experiment_tracking", "job_scheduling", "model_registry", "lineage",
                "metadata_knowledge_base", "model_monitoring", "data_validation",
                "validation_gates", "bias_checks", "explainability", "approval_workflow",
                "shared_platform"):
        assert caps[met] == "met", (met, caps[met])
    assert caps["distributed_compute"] == "partial"  # nested runs only hint at fan-out
    assert caps["continuous_training"] == "partial"  # scheduled runs, but no pipeline definition
    assert _caps(a, "risk", "team")["cross_source_integration"] == "met"

    # Stage 1 from the repository (version control, pinned requirements) and MLflow's GPU
    # runs; MLflow cannot show CI/CD or serving, so stage 2 stops the team, and everything
    # MLflow shows higher up is reported as met above the placement.
    place = _placement(a, "team", "risk")
    assert place["stage"] == 1
    assert {b["capability"] for b in place["blockers"]} == {"ci_cd_deployment", "model_serving"}
    above = {m["capability"] for m in place["met_above"]}
    assert {"experiment_tracking", "job_scheduling", "model_monitoring", "data_validation",
            "cross_source_integration", "model_registry", "lineage", "validation_gates",
            "bias_checks", "explainability", "approval_workflow", "shared_platform"} <= above
    # the server's version reaches the inventory: the repository pins mlflow==3.5.0, an
    # older client than the server, which the inventory reports as a mismatch
    server = next(e for e in a["evidence"] if e["signal"] == "tracking.server")
    assert any(m["client_version"] == "3.5.0"
               and server["attributes"]["version"] in m["server_versions"]
               for m in a["inventory"]["client_server_mismatches"])


def test_research_server_places_low(mlflow_servers, tmp_path) -> None:
    a = _audit(tmp_path, mlflow_servers["research"].url, team="research")
    caps = _caps(a)
    assert caps["experiment_tracking"] == "met"
    assert caps["job_scheduling"] == "unmet"
    assert caps["bias_checks"] == "partial"       # a notebook metric, not a set-up check
    assert caps["model_registry"] == "partial"    # MLflow offers one, nothing is registered
    assert caps["cross_source_integration"] == "unmet"
    place = _placement(a, "target", "mlflow")
    assert place["stage"] == 0  # no repository audited: version control is not shown


def test_unreachable_server_is_unknown_not_unmet(mlflow_unreachable_url, tmp_path) -> None:
    a = _audit(tmp_path, mlflow_unreachable_url, team="ghost")
    caps = _caps(a)
    assert a["partial"] is True
    assert caps["experiment_tracking"] == "unknown"
    assert caps["model_registry"] == "unknown"
    [u] = [u for u in a["unobserved"] if u["probe"] == "mlflow"]
    assert "unreachable" in u["reason"]
