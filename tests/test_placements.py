"""Real repositories standing for stages 0, 2, 4 and 6: their placements and the evidence cited.

The stage-6 assessment is kept as a golden file (tests/golden/stage6_assessment.json) with
run metadata, times and the temporary path normalised. Regenerate it deliberately with
UPDATE_GOLDEN=1 python -m pytest tests/test_placements.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.repos import make_stage0_repo, make_stage2_repo, make_stage4_repo, make_stage6_repo

NOW = datetime(2026, 11, 1, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "stage6_assessment.json"
SCHEMA = json.loads((Path(__file__).parents[1] / "auditor/schema/assessment.schema.json").read_text())
BUILDERS = {0: make_stage0_repo, 2: make_stage2_repo, 4: make_stage4_repo, 6: make_stage6_repo}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Each stage repository audited on its own, plus all four together as two teams."""
    root = tmp_path_factory.mktemp("stages")
    paths = {n: build(root / f"stage{n}") for n, build in BUILDERS.items()}
    single = {
        n: run_audit(AuditConfig(targets=[build_target({"name": f"stage{n}", "kind": "git", "path": str(p)})]),
                     cache_dir=root / "cache", now=NOW)
        for n, p in paths.items()
    }
    teams = {0: "research", 2: "research", 4: "platform", 6: "platform"}
    together = run_audit(AuditConfig(targets=[
        build_target({"name": f"stage{n}", "kind": "git", "path": str(p), "labels": {"team": teams[n]}})
        for n, p in paths.items()]), cache_dir=root / "cache", now=NOW)
    return root, single, together


def placement(a, kind, name, framework="seven_stages"):
    return next(p for p in a["placements"]
                if p["framework"] == framework and p["scope"] == {"kind": kind, "name": name})


def cited(a, scope_name, capability):
    ev = {e["id"]: e for e in a["evidence"]}
    cap = next(c for c in a["capabilities"]
               if c["scope"]["name"] == scope_name and c["id"] == capability)
    return cap["status"], [ev[i]["locator"].split("#", 1)[-1] for i in cap["evidence"]]


@pytest.mark.parametrize("stage", [0, 2, 4, 6])
def test_each_repository_is_placed_at_its_stage(audited, stage):
    _, single, _ = audited
    a = single[stage]
    p = placement(a, "target", f"stage{stage}")
    assert p["stage"] == stage, p["blockers"]
    assert not p["provisional"] and p["strict_stage"] == stage and a["unobserved"] == []
    assert p["blockers"], "every stage below 7 names what blocks the next"
    assert all(b["next_step"] for b in p["blockers"])
    jsonschema.validate(a.to_dict(), SCHEMA)


def test_stage0_notebooks_only_blocked_by_environment(audited):
    _, single, _ = audited
    p = placement(single[0], "target", "stage0")
    assert {b["capability"] for b in p["blockers"]} == {"reproducible_environment"}
    # git alone cannot show self-service compute is missing: unknown, with what would settle it
    (unsettled,) = p["unsettled"]
    assert unsettled["capability"] == "self_service_compute"
    assert unsettled["settle_with"] == ["kubernetes", "aws"]
    assert "not observable from git alone" in unsettled["reason"]
    status, where = cited(single[0], "stage0", "version_control")
    assert status == "met"


def test_stage2_cites_workflow_files_and_lines(audited):
    _, single, _ = audited
    status, where = cited(single[2], "stage2", "ci_cd_deployment")
    assert status == "met"
    assert any(w.startswith(".github/workflows/") and w.rsplit(":", 1)[1].isdigit() and int(w.rsplit(":", 1)[1]) > 1
               for w in where), where
    status, where = cited(single[2], "stage2", "reproducible_environment")
    assert status == "met" and "Dockerfile:1" in where
    blockers = {b["capability"] for b in placement(single[2], "target", "stage2")["blockers"]}
    assert blockers == {"ml_pipelines", "feature_store", "distributed_compute", "scalable_serving"}


def test_stage4_is_blocked_by_stage5_capabilities(audited):
    _, single, _ = audited
    p = placement(single[4], "target", "stage4")
    assert {"lineage", "data_versioning"} <= {b["capability"] for b in p["blockers"]}
    status, where = cited(single[4], "stage4", "model_monitoring")
    assert status == "met" and where


def test_stage6_names_stage7_blockers_and_cites_governance(audited):
    _, single, _ = audited
    p = placement(single[6], "target", "stage6")
    # nothing of stage 7 is visible in a repository: a stage is never reached on assumptions alone
    assert {b["capability"] for b in p["blockers"]} >= {"audit_logging", "cost_monitoring"}
    assert {b["status"] for b in p["blockers"]} == {"unknown"}
    for cap, fragment in [("code_review", "CODEOWNERS"), ("model_documentation", ""),
                          ("data_versioning", ""), ("cross_source_integration", "")]:
        status, where = cited(single[6], "stage6", cap)
        assert status == "met" and where and any(fragment in w for w in where), (cap, where)


def test_teams_and_organisation_are_medians_of_their_members(audited):
    _, _, a = audited
    research, platform = placement(a, "team", "research"), placement(a, "team", "platform")
    assert (research["stage"], platform["stage"]) == (0, 4)  # lower middle of 0,2 and of 4,6
    assert research["lowest"] == {"scope": {"kind": "target", "name": "stage0"}, "stage": 0}
    assert {k: v for k, v in platform["distribution"].items() if v} == {"4": 1, "6": 1}
    org = placement(a, "org", "organisation")
    assert org["stage"] == 0 and [m["scope"]["name"] for m in org["members"]] == ["platform", "research"]
    # the team's capability statuses say how many of its projects have each one
    team_caps = {c["id"]: c for c in a["capabilities"] if c["scope"] == {"kind": "team", "name": "research"}}
    assert team_caps["ci_cd_deployment"]["members"]["met"] == 1
    assert team_caps["ci_cd_deployment"]["status"] == "partial"
    assert {t["name"] for t in a["targets"]} == {"stage0", "stage2", "stage4", "stage6"}
    jsonschema.validate(a.to_dict(), SCHEMA)


def normalise(a: dict, root: Path) -> dict:
    """Drop times and run metadata; replace the temporary path, and the evidence ids that
    hash it, by stable placeholders."""
    import hashlib

    from auditor.assessment import Assessment

    a = a.to_dict() if isinstance(a, Assessment) else a
    text = json.dumps(a, sort_keys=True)
    for e in a["evidence"]:
        stable = json.dumps([e["target"], e["signal"], e["locator"].replace(str(root), "<tmp>"),
                             e["attributes"]], sort_keys=True)
        text = text.replace(e["id"], "ev-" + hashlib.sha1(stable.encode()).hexdigest()[:12])
    doc = _sort_id_lists(json.loads(text.replace(str(root), "<tmp>")))
    doc.pop("run")
    doc.pop("probes")
    for e in doc["evidence"]:
        e.pop("observed_at")
    return doc


def _sort_id_lists(value):
    """Cited ids are sorted by id, and ids changed above: sort them again."""
    if isinstance(value, dict):
        return {k: _sort_id_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sort_id_lists(v) for v in value]
        if items and all(isinstance(v, str) and v.startswith("ev-") for v in items):
            return sorted(items)
        return items
    return value


def test_golden_assessment(audited):
    root, single, _ = audited
    doc = normalise(single[6], root)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert doc["placements"] == expected["placements"]
    assert doc["capabilities"] == expected["capabilities"]
    assert doc == expected


# ---- what a source can show, inheritance, roll-ups (real repositories, real sources) --------

NOTEBOOK = {"apiVersion": "kubeflow.org/v1", "kind": "Notebook",
            "metadata": {"name": "alice-nb", "namespace": "research"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "nb", "image": "kubeflownotebookswg/jupyter-scipy:v1.8.0"}]}}},
            "status": {"readyReplicas": 1}}


def _without_devcontainer(path: Path) -> Path:
    import git

    repo = git.Repo(path)
    repo.index.remove([".devcontainer/devcontainer.json"], working_tree=True)
    repo.index.commit("Drop the devcontainer", author_date="2026-10-01T12:00:00",
                      commit_date="2026-10-01T12:00:00")
    repo.close()
    return path


def _notebook_snapshot(folder: Path) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notebooks.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List",
                                                           "items": [NOTEBOOK]}))
    return folder


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """Repositories without a devcontainer, so self-service compute can only come from a
    platform: notebook-only, CI+tracking+serving, full stack; and a cluster snapshot."""
    root = tmp_path_factory.mktemp("estate")
    return {
        "notebooks": make_stage0_repo(root / "notebooks"),
        "service": _without_devcontainer(make_stage2_repo(root / "service")),
        "fullstack": _without_devcontainer(make_stage6_repo(root / "fullstack")),
        "fullstack2": _without_devcontainer(make_stage6_repo(root / "fullstack2")),
        "snapshot": _notebook_snapshot(root / "cluster"),
        "cache": root / "cache",
    }


def _audit(estate, targets, **kwargs):
    built = [build_target(t) for t in targets]
    return run_audit(AuditConfig(targets=built), cache_dir=estate["cache"], now=NOW, **kwargs)


def test_git_only_stages_rise_with_maturity_and_assume_what_git_cannot_show(estate):
    stages = {}
    for name in ("notebooks", "service", "fullstack"):
        a = _audit(estate, [{"name": name, "kind": "git", "path": str(estate[name])}])
        stages[name] = placement(a, "target", name)
    assert stages["notebooks"]["stage"] < stages["service"]["stage"] < stages["fullstack"]["stage"]
    full = stages["fullstack"]
    assert full["stage"] >= 5 and full["provisional"]
    assert full["strict_stage"] == 0
    assumed = {x["capability"]: x for x in full["assumed"]}
    assert "self_service_compute" in assumed
    assert assumed["self_service_compute"]["settle_with"] == ["kubernetes", "aws"]
    assert full["profile"][0] == {"stage": 1, "name": "Accelerate research", "required": 3,
                                  "met": 2, "partial": 0, "unknown": 1, "unmet": 0}


def test_a_cluster_with_notebooks_settles_self_service_compute(estate):
    a = _audit(estate, [{"name": "fullstack", "kind": "git", "path": str(estate["fullstack"])},
                        {"name": "cluster", "kind": "kubernetes", "snapshot": str(estate["snapshot"])}])
    p = placement(a, "target", "fullstack")
    assert p["stage"] >= 5 and not p["provisional"], p["assumed"]
    caps = {c["id"]: c for c in a["capabilities"] if c["scope"] == {"kind": "target", "name": "fullstack"}}
    notebook = next(e for e in a["evidence"] if e["signal"] == "compute.notebook_server")
    assert caps["self_service_compute"]["status"] == "met"
    assert caps["self_service_compute"]["evidence"] == [notebook["id"]]
    # the cluster is a source, not a subject: no placement, but the report says what it gives
    assert not [x for x in a["placements"] if x["scope"] == {"kind": "target", "name": "cluster"}]
    (source,) = a["sources"]
    assert source["target"] == "cluster" and source["serves"] == {"kind": "org", "name": "organisation"}
    assert {"capability": "self_service_compute", "title": "Self-service compute",
            "status": "met"} in source["provides"]
    jsonschema.validate(a.to_dict(), SCHEMA)


def test_a_team_platform_lifts_its_own_team_only(estate):
    repos = [{"name": "x", "kind": "git", "path": str(estate["fullstack"]), "labels": {"team": "a"}},
             {"name": "y", "kind": "git", "path": str(estate["fullstack2"]), "labels": {"team": "b"}}]
    cluster = {"name": "cluster", "kind": "kubernetes", "snapshot": str(estate["snapshot"])}

    def compute(a, name):
        return next(c for c in a["capabilities"] if c["id"] == "self_service_compute"
                    and c["scope"] == {"kind": "target", "name": name})

    a = _audit(estate, repos + [{**cluster, "labels": {"team": "a"}}])
    assert compute(a, "x")["status"] == "met"
    assert compute(a, "y")["status"] == "unknown"
    assert not placement(a, "team", "a")["provisional"] and placement(a, "team", "b")["provisional"]
    assert a["sources"][0]["serves"] == {"kind": "team", "name": "a"}
    a = _audit(estate, repos + [cluster])
    assert compute(a, "x")["status"] == compute(a, "y")["status"] == "met"


def test_strict_makes_unknown_block(estate):
    target = [{"name": "fullstack", "kind": "git", "path": str(estate["fullstack"])}]
    p = placement(_audit(estate, target, strict=True), "target", "fullstack")
    assert p["stage"] == 0 and not p["provisional"] and not p["assumed"]
    assert [b["capability"] for b in p["blockers"]] == ["self_service_compute"]
    assert p["blockers"][0]["status"] == "unknown"


def test_three_teams_at_one_two_and_four_put_the_organisation_at_two(tmp_path):
    import git

    one = make_stage0_repo(tmp_path / "one")
    (one / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (one / ".devcontainer").mkdir()
    (one / ".devcontainer" / "devcontainer.json").write_text('{"image": "python:3.11"}\n')
    repo = git.Repo(one)
    repo.index.add(["Dockerfile", ".devcontainer/devcontainer.json"])
    repo.index.commit("Container and workspace")
    repo.close()
    paths = {"one": one, "two": make_stage2_repo(tmp_path / "two"), "four": make_stage4_repo(tmp_path / "four")}
    teams = {"one": "ingest", "two": "churn", "four": "fraud"}
    a = run_audit(AuditConfig(targets=[
        build_target({"name": n, "kind": "git", "path": str(p), "labels": {"team": teams[n]}})
        for n, p in paths.items()]), cache_dir=tmp_path / "cache", now=NOW)
    assert {n: placement(a, "target", n)["stage"] for n in paths} == {"one": 1, "two": 2, "four": 4}
    org = placement(a, "org", "organisation")
    assert org["stage"] == 2 and org["basis"] == "members"
    assert {k: v for k, v in org["distribution"].items() if v} == {"1": 1, "2": 1, "4": 1}
    assert org["lowest"] == {"scope": {"kind": "team", "name": "ingest"}, "stage": 1}
    jsonschema.validate(a.to_dict(), SCHEMA)


def test_this_repository_is_not_an_ml_project(tmp_path):
    """The auditor's own repository (or any repository without ML code) stays at 0 or 1."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.fail("the test suite must run from a git checkout of the project")
    a = run_audit(AuditConfig(targets=[build_target({"name": "self", "kind": "git", "path": str(root)})]),
                  cache_dir=tmp_path)
    assert placement(a, "target", "self")["stage"] <= 1
