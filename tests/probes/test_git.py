"""The git probe on real repositories built with gitpython: the evidence each stage's
repository produces (signal, strength, file and line), links, and CLI arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe
from probes.git.settings import GitSettings
from tests.repos import make_stage0_repo, make_stage2_repo, make_stage4_repo, make_stage6_repo


def run(path: Path | str | None = None, tmp: Path | None = None, **settings) -> tuple[list[Evidence], list[Unobserved]]:
    if path is not None:
        settings["path"] = str(path)
    target = Target(name="repo", kind="git", settings=GitSettings(**settings))
    ctx = ProbeContext(probe="git", cache_dir=tmp or Path("/tmp"), timeout=120)
    out = list(GitProbe().collect(target, ctx))
    return ([e for e in out if isinstance(e, Evidence)], [u for u in out if isinstance(u, Unobserved)])


def where(ev: Evidence) -> str:
    """``path:line`` from a locator ``git+file:///repo@<sha>#path:line``."""
    return ev.locator.split("#", 1)[1] if "#" in ev.locator else ""


def find(evidence: list[Evidence], signal: str, **attrs) -> list[Evidence]:
    return [e for e in evidence if e.signal == signal
            and all(e.attributes.get(k) == v for k, v in attrs.items())]


def at(evidence: list[Evidence], signal: str) -> set[str]:
    return {where(e) for e in evidence if e.signal == signal}


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("stages")
    return {0: make_stage0_repo(base / "s0"), 2: make_stage2_repo(base / "s2"),
            4: make_stage4_repo(base / "s4"), 6: make_stage6_repo(base / "s6")}


@pytest.fixture(scope="module")
def results(repos, tmp_path_factory) -> dict[int, list[Evidence]]:
    out = {}
    for stage, path in repos.items():
        evidence, unobserved = run(path, tmp_path_factory.mktemp("cache"))
        assert unobserved == [], unobserved
        out[stage] = evidence
    return out


def test_locators_name_the_commit_file_and_line(repos, results):
    import git

    head = git.Repo(repos[2]).head.commit.hexsha
    ev = find(results[2], "ci.deploy_step")[0]
    assert ev.locator == f"git+{repos[2].resolve().as_uri()}@{head}#.github/workflows/ci.yml:23"


def test_stage0_notebooks_only(results):
    signals = {e.signal for e in results[0]}
    assert "vcs.repository" in signals
    assert not any(s.startswith(("env.", "compute.", "ci.", "serving.", "tool.")) for s in signals)
    repo = find(results[0], "vcs.repository")[0]
    # the builder's commits are dated 2026-01-15: more than 90 days old → configured, not operating
    assert repo.strength == Strength.CONFIGURED


def test_stage2_environment_and_workspace(results):
    ev = results[2]
    image = find(ev, "env.container_image")[0]
    assert where(image) == "Dockerfile:1"
    assert image.attributes["tool"] == "base-image:python"
    assert image.attributes["version"] == "3.11-slim"
    assert at(ev, "compute.workspace") == {".devcontainer/devcontainer.json:1"}
    pins = find(ev, "env.pinned_requirements")[0]
    assert pins.attributes["fully_pinned"] is True and where(pins) == "requirements.txt:1"


def test_stage2_ci_deploys_tests_builds_and_trains_on_schedule(results):
    ev = results[2]
    assert at(ev, "ci.pipeline") == {".github/workflows/ci.yml:1", ".github/workflows/train.yml:1"}
    assert at(ev, "ci.test_step") == {".github/workflows/ci.yml:12"}
    assert at(ev, "ci.deploy_step") == {".github/workflows/ci.yml:23"}
    build = find(ev, "ci.build_image")[0]
    assert where(build) == ".github/workflows/ci.yml:19"
    assert build.attributes["link_keys"] == ["image:registry.example.com/churn/api"]
    assert build.attributes["pushed"] is True
    train = find(ev, "ci.train_step")[0]
    assert where(train) == ".github/workflows/train.yml:11" and train.attributes["scheduled"] is True
    assert at(ev, "schedule.job") == {".github/workflows/train.yml:1"}
    assert all(e.strength == Strength.CONFIGURED for e in ev if e.signal.startswith("ci."))


def test_bot_only_workflow_is_not_ci(results):
    assert not [e for e in results[2] if "greetings.yml" in e.locator]


def test_stage2_serving_and_tracking(results):
    ev = results[2]
    serving = find(ev, "serving.deployment")[0]
    assert where(serving) == "k8s/deployment.yaml:1" and serving.attributes["kind"] == "Deployment"
    image = find(ev, "image.versioned", source="manifest")[0]
    assert where(image) == "k8s/deployment.yaml:11"
    assert image.attributes["links_to"] == ["image:registry.example.com/churn/api"]
    tracking = find(ev, "tool.experiment_tracking", strength=None) or find(ev, "tool.experiment_tracking")
    configured = [e for e in tracking if e.strength == Strength.CONFIGURED]
    assert configured and where(configured[0]) == "src/churn/train.py:6"  # the first call
    assert configured[0].attributes["version"] == "2.16.0"


def test_declared_but_never_imported_is_weaker(results):
    torch = find(results[4], "tool.deep_learning", tool="pytorch")
    assert [e.strength for e in torch] == [Strength.DECLARED]
    assert where(torch[0]) == "requirements.txt:8"
    kfp = find(results[4], "tool.orchestration", tool="kubeflow-pipelines")
    assert {e.strength for e in kfp} == {Strength.DECLARED, Strength.CONFIGURED}


def test_stage2_has_no_stage3_evidence(results):
    signals = {e.signal for e in results[2]}
    assert not signals & {"pipeline.definition", "feature_store.definition", "distributed.workload",
                          "serving.autoscaling"}


def test_stage4_pipelines_features_distributed_monitoring_validation(results):
    ev = results[4]
    assert ".pipelines/training_pipeline.py:9"[1:] in at(ev, "pipeline.definition")
    assert "feature_repo/features.py:5" in at(ev, "feature_store.definition")  # Entity, the first use
    assert at(ev, "distributed.workload") == {"k8s/pytorchjob.yaml:1"}
    assert at(ev, "serving.autoscaling") == {"k8s/hpa.yaml:1"}
    assert at(ev, "monitoring.model_rule") == {"monitoring/rules.yaml:9"}
    assert at(ev, "monitoring.operational_rule") == {"monitoring/rules.yaml:12"}
    assert "src/churn/validate.py:3" in at(ev, "data_validation.check")
    assert not find(ev, "registry.usage")


def test_stage6_registry_lineage_and_model_health(results):
    ev = results[6]
    reg = find(ev, "registry.usage")[0]
    assert where(reg) == "src/churn/train.py:13" and reg.attributes["link_keys"] == ["model:churn"]
    isvc = find(ev, "serving.deployment", kind="InferenceService")[0]
    assert where(isvc) == "serving/inferenceservice.yaml:1"
    assert isvc.attributes["links_to"] == ["model:churn"]
    assert "src/churn/train.py:15" in at(ev, "metadata.described")
    assert "src/churn/train.py:9" in at(ev, "lineage.code")
    assert {"dvc.lock:2", "src/churn/train.py:10"} <= at(ev, "lineage.data")
    assert {"data/raw.csv.dvc:1", ".dvc/config:3"} <= at(ev, "data_versioning.store")
    assert "src/churn/evaluate.py:6" in at(ev, "validation.gate")  # the mlflow.evaluate call
    assert at(ev, "fairness.check") == {"src/churn/responsible.py:6"}
    assert at(ev, "explainability.check") == {"src/churn/responsible.py:11"}
    assert find(ev, "docs.model_card")[0].strength == Strength.CONFIGURED
    assert at(ev, "review.codeowners") == {"CODEOWNERS:1"}
    assert at(ev, "remediation.trigger") == {".github/workflows/retrain.yml:1"}
    tags = find(ev, "vcs.release_tags")[0]
    assert tags.attributes["latest"] == "v1.0.0" and tags.attributes["count"] == 1
    # nothing for stage 7 from the repository
    assert not [e for e in ev if e.signal == "governance.approval" and e.strength >= Strength.CONFIGURED]


def test_history_tempo(results):
    ev = results[6]
    commits = find(ev, "tempo.commits_per_week")[0]
    assert commits.attributes["unit"] == "per_week" and commits.attributes["value"] == 0
    days = find(ev, "tempo.days_since_last_commit")[0]
    assert days.attributes["unit"] == "days" and days.attributes["value"] > 30
    assert find(ev, "vcs.repository")[0].attributes["commits_sampled"] == 4


def test_recent_commits_make_the_repository_operating(tmp_path):
    import git

    repo = git.Repo.init(tmp_path / "r")
    (tmp_path / "r" / "a.txt").write_text("x")
    repo.index.add(["a.txt"])
    repo.index.commit("now", author=git.Actor("A", "a@x"), committer=git.Actor("A", "a@x"))
    evidence, _ = run(tmp_path / "r", tmp_path)
    assert find(evidence, "vcs.repository")[0].strength == Strength.OPERATING
    assert find(evidence, "tempo.active_authors")[0].attributes["value"] == 1


def test_resolve_links_answers_commit_keys(repos, tmp_path):
    import git

    head = git.Repo(repos[6]).head.commit.hexsha
    target = Target(name="s6", kind="git", settings=GitSettings(path=str(repos[6])))
    ctx = ProbeContext(probe="git", cache_dir=tmp_path)
    keys = [f"commit:{head}", "commit:" + "0" * 40, "image:docker.io/library/python"]
    found = list(GitProbe().resolve_links(target, ctx, keys))
    assert len(found) == 1
    assert found[0].signal == "vcs.commit"
    assert found[0].attributes["link_keys"] == [f"commit:{head}"]
    assert found[0].locator.endswith(f"@{head}")


def test_target_from_argument(tmp_path):
    probe = GitProbe()
    assert probe.target_from_argument(str(tmp_path)) == {"name": tmp_path.name, "path": str(tmp_path)}
    assert probe.target_from_argument("https://git.example.com/team/model.git") == \
        {"name": "model", "url": "https://git.example.com/team/model.git"}
    assert probe.target_from_argument("git@github.com:acme/churn.git")["name"] == "churn"
    assert probe.target_from_argument("ssh://git@host/x/fraud")["name"] == "fraud"
    assert probe.target_from_argument("file:///srv/repos/a.git")["url"] == "file:///srv/repos/a.git"
    assert probe.target_from_argument("not-a-thing") is None


def test_settings_need_exactly_one_source():
    with pytest.raises(ValidationError):
        GitSettings()
    with pytest.raises(ValidationError):
        GitSettings(path="/x", url="https://h/x.git")
    with pytest.raises(ValidationError):
        GitSettings(path="/x", unknown=1)
    with pytest.raises(ValidationError):
        GitSettings(path="/x", subdir="../up")


def test_subdir_limits_the_audit(repos, tmp_path):
    evidence, unobserved = run(repos[6], tmp_path, subdir="k8s")
    files = {where(e).split(":")[0] for e in evidence if "#" in e.locator} - {"refs/tags/v1.0.0"}
    assert files and all(f.startswith("k8s/") for f in files)
    assert not unobserved


def test_imports_inside_functions_aliases_and_multiline_from_imports_count(tmp_path):
    import git

    repo = git.Repo.init(tmp_path / "r")
    files = {
        "train.py": "def main():\n    import mlflow as ml\n    ml.log_metric('auc', 0.9)\n",
        "tune.py": "from optuna import (\n    create_study,\n    Trial,\n)\nstudy = create_study()\n",
        "idle.py": "import wandb\nprint('never calls it')\n",
    }
    for name, text in files.items():
        (tmp_path / "r" / name).write_text(text)
    repo.index.add(list(files))
    repo.index.commit("code", author=git.Actor("A", "a@x"), committer=git.Actor("A", "a@x"))
    evidence, unobserved = run(tmp_path / "r", tmp_path)
    assert unobserved == []
    by_tool = {(e.attributes.get("tool"), e.signal): e for e in evidence if e.signal.startswith("tool.")}
    assert by_tool[("mlflow", "tool.experiment_tracking")].strength == Strength.CONFIGURED
    assert where(by_tool[("mlflow", "tool.experiment_tracking")]) == "train.py:3"  # the call
    assert by_tool[("optuna", "tool.tuning")].strength == Strength.CONFIGURED
    assert by_tool[("wandb", "tool.experiment_tracking")].strength == Strength.DECLARED  # imported, never called
