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


def _caps(a: dict[str, Any], scope: str, kind: str = "team") -> dict[str, str]:
    return {c["id"]: c["status"] for c in a["capabilities"]
            if c["scope"] == {"kind": kind, "name": scope}}


def _provided(a: dict[str, Any], source: str = "mlflow") -> dict[str, str]:
    """What the server provides: it is a source for its team, not placed itself."""
    (s,) = [s for s in a["sources"] if s["target"] == source]
    return {c["capability"]: c["status"] for c in s["provides"]}


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

    provided = _provided(a)
    for met in ("experiment_tracking", "job_scheduling", "model_registry", "lineage",
                "metadata_knowledge_base", "model_monitoring", "data_validation",
                "validation_gates", "bias_checks", "explainability", "approval_workflow",
                "shared_platform"):
        assert provided[met] == "met", (met, provided.get(met))
    assert provided["distributed_compute"] == "partial"  # nested runs only hint at fan-out
    assert provided["continuous_training"] == "partial"  # scheduled runs, no pipeline definition
    assert a["sources"][0]["serves"] == {"kind": "team", "name": "risk"}
    assert a["sources"][0]["linked_projects"] == ["churn-repo"]

    # The experiments whose runs cite the repository's commit are the repository's: their
    # runs, schedules and checks count for it; the server's platform evidence (a shared
    # server) counts as platform capability.
    repo = _caps(a, "churn-repo", "target")
    for met in ("experiment_tracking", "job_scheduling", "lineage", "cross_source_integration",
                "model_monitoring", "validation_gates", "shared_platform"):
        assert repo[met] == "met", (met, repo[met])
    by_id = {e["id"]: e for e in a["evidence"]}
    tracking = next(c for c in a["capabilities"] if c["id"] == "experiment_tracking"
                    and c["scope"] == {"kind": "target", "name": "churn-repo"})
    assert {by_id[i]["target"] for i in tracking["evidence"]} == {"mlflow"}

    # The repository cannot show CI/CD or serving, so stage 2 stops it and its team; what
    # MLflow shows higher up is reported as met above the placement.
    place = _placement(a, "team", "risk")
    assert place["stage"] == _placement(a, "target", "churn-repo")["stage"] == 1
    assert {"ci_cd_deployment", "model_serving"} <= {b["capability"] for b in place["blockers"]}
    above = {m["capability"] for m in _placement(a, "target", "churn-repo")["met_above"]}
    assert {"experiment_tracking", "job_scheduling", "model_monitoring",
            "cross_source_integration", "lineage", "validation_gates"} <= above
    # the server's version reaches the inventory: the repository pins mlflow==3.5.0, an
    # older client than the server, which the inventory reports as a mismatch
    server = next(e for e in a["evidence"] if e["signal"] == "tracking.server")
    assert any(m["client_version"] == "3.5.0"
               and server["attributes"]["version"] in m["server_versions"]
               for m in a["inventory"]["client_server_mismatches"])


def test_research_server_places_low(mlflow_servers, tmp_path) -> None:
    a = _audit(tmp_path, mlflow_servers["research"].url, team="research")
    caps = _caps(a, "research")  # no repository: the team is judged on its server alone
    assert caps["experiment_tracking"] == "met"
    # no automated run, but a server alone cannot show that jobs are not scheduled elsewhere
    assert caps["job_scheduling"] == "unknown"
    assert caps["bias_checks"] == "partial"       # a notebook metric, not a set-up check
    assert caps["model_registry"] == "partial"    # MLflow offers one, nothing is registered
    assert caps["cross_source_integration"] == "unmet"
    place = _placement(a, "team", "research")
    assert place["stage"] == 0 and place["basis"] == "pooled"  # version control is not shown


def test_unreachable_server_is_unknown_not_unmet(mlflow_unreachable_url, tmp_path) -> None:
    a = _audit(tmp_path, mlflow_unreachable_url, team="ghost")
    caps = _caps(a, "ghost")
    assert a["partial"] is True
    assert caps["experiment_tracking"] == "unknown"
    assert caps["model_registry"] == "unknown"
    [u] = [u for u in a["unobserved"] if u["probe"] == "mlflow"]
    assert "unreachable" in u["reason"]


def test_runs_that_cite_a_commit_give_tracking_to_that_repository_only(mlflow_servers, tmp_path) -> None:
    """Two repositories share a team and its MLflow server; the runs cite commits of one."""
    from tests.repos import make_stage0_repo

    srv = mlflow_servers["production"]
    other = make_stage0_repo(tmp_path / "notebooks")  # no tracking code of its own
    targets = [build_target({"name": "mlflow", "kind": "mlflow", "tracking_uri": srv.url,
                             "labels": {"team": "risk"}}),
               build_target({"name": "churn-repo", "kind": "git", "path": srv.facts["repo"],
                             "labels": {"team": "risk"}}),
               build_target({"name": "notebooks", "kind": "git", "path": str(other),
                             "labels": {"team": "risk"}})]
    a = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "cache")
    assert _caps(a, "churn-repo", "target")["experiment_tracking"] == "met"
    assert _caps(a, "churn-repo", "target")["lineage"] == "met"
    assert _caps(a, "notebooks", "target")["experiment_tracking"] == "unmet"
    assert _caps(a, "notebooks", "target")["lineage"] == "unmet"
    team = next(c for c in a["capabilities"] if c["id"] == "experiment_tracking"
                and c["scope"] == {"kind": "team", "name": "risk"})
    assert team["members"] == {"met": 1, "partial": 0, "unmet": 1, "unknown": 0}
