"""Clone URLs (partial clone into the cache, fetched again later) and the other CI systems and
IaC formats the git probe reads."""

from __future__ import annotations

from pathlib import Path

import git

from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe
from probes.git.settings import GitSettings
from tests.probes.test_git_bad_input import make_repo
from tests.repos import make_stage2_repo


def run(cache: Path, **settings) -> tuple[list[Evidence], list[Unobserved]]:
    target = Target(name="t", kind="git", settings=GitSettings(**settings))
    out = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=cache, timeout=60)))
    return [e for e in out if isinstance(e, Evidence)], [u for u in out if isinstance(u, Unobserved)]


def where(ev: Evidence) -> str:
    return ev.locator.split("#", 1)[1] if "#" in ev.locator else ""


def test_url_target_is_a_partial_bare_clone_fetched_again_later(tmp_path):
    origin = make_stage2_repo(tmp_path / "origin")
    with git.Repo(origin).config_writer() as cfg:
        cfg.set_value("uploadpack", "allowFilter", "true")
        cfg.set_value("uploadpack", "allowAnySHA1InWant", "true")
    url = origin.as_uri()
    evidence, unobserved = run(tmp_path / "cache", url=url)
    assert unobserved == []
    deploy = [e for e in evidence if e.signal == "ci.deploy_step"][0]
    head = git.Repo(origin).head.commit.hexsha
    assert deploy.locator == f"git+{url}@{head}#.github/workflows/ci.yml:23"
    clones = list((tmp_path / "cache" / "git").iterdir())
    assert len(clones) == 1 and (clones[0] / "HEAD").exists()
    clone = git.Repo(clones[0])
    assert clone.bare and clone.git.config("remote.origin.partialclonefilter") == "blob:none"
    assert not (clones[0] / "Dockerfile").exists()  # never checked out
    # a new commit upstream is seen on the next run
    repo = git.Repo(origin)
    (origin / "CODEOWNERS").write_text("* @team\n")
    repo.index.add(["CODEOWNERS"])
    repo.index.commit("owners", author=git.Actor("T", "t@x"), committer=git.Actor("T", "t@x"))
    evidence, _ = run(tmp_path / "cache", url=url)
    assert [where(e) for e in evidence if e.signal == "review.codeowners"] == ["CODEOWNERS:1"]
    assert len(list((tmp_path / "cache" / "git").iterdir())) == 1


def test_a_clone_left_by_a_killed_run_is_removed_and_one_in_progress_is_not(tmp_path):
    """A run killed outright (SIGKILL, out of memory) cannot remove its half-made clone; the
    next run that clones removes those older than a day, never a younger one (another run
    may be cloning into it)."""
    import os
    import time

    from auditor import processes

    origin = make_repo(tmp_path / "origin", {"Dockerfile": "FROM python:3.10\n"})
    root = tmp_path / "cache" / "git"
    orphan, busy = root / ".clone-orphan", root / ".clone-busy"
    for folder in (orphan, busy):
        (folder / "objects").mkdir(parents=True)
    day_ago = time.time() - processes.STALE_SECONDS - 60
    os.utime(orphan, (day_ago, day_ago))
    processes._swept.discard((str(root), ".clone-"))
    evidence, unobserved = run(tmp_path / "cache", url=origin.as_uri())
    assert unobserved == [] and evidence
    assert not orphan.exists() and busy.exists()
    assert len([p for p in root.iterdir() if not p.name.startswith(".clone-")]) == 1


def test_url_target_ref(tmp_path):
    origin = make_repo(tmp_path / "origin", {"Dockerfile": "FROM python:3.10\n"})
    repo = git.Repo(origin)
    repo.git.checkout("-b", "next")
    (origin / "Dockerfile").write_text("FROM python:3.12\n")
    repo.index.add(["Dockerfile"])
    repo.index.commit("bump", author=git.Actor("T", "t@x"), committer=git.Actor("T", "t@x"))
    repo.git.checkout("-")
    evidence, _ = run(tmp_path / "cache", url=origin.as_uri(), ref="next")
    image = [e for e in evidence if e.signal == "env.container_image"][0]
    assert image.attributes["version"] == "3.12"


def test_resolve_links_on_a_url_target(tmp_path):
    origin = make_repo(tmp_path / "origin", {"a.txt": "x"})
    head = git.Repo(origin).head.commit.hexsha
    run(tmp_path / "cache", url=origin.as_uri())
    target = Target(name="t", kind="git", settings=GitSettings(url=origin.as_uri()))
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache")
    found = list(GitProbe().resolve_links(target, ctx, [f"commit:{head}", "commit:" + "1" * 40]))
    assert [e.attributes["link_keys"] for e in found] == [[f"commit:{head}"]]


CI_FILES = {
    ".gitlab-ci.yml": (
        "stages: [test, deploy]\n"
        "unit:\n"
        "  stage: test\n"
        "  script: [pytest]\n"
        "train:\n"
        "  rules:\n"
        "    - if: $CI_PIPELINE_SOURCE == \"schedule\"\n"
        "  script: [python train.py]\n"
        "deploy:\n"
        "  stage: deploy\n"
        "  when: manual\n"
        "  script: [helm upgrade --install churn chart/]\n"),
    "Jenkinsfile": (
        "pipeline {\n"
        "  agent any\n"
        "  triggers { cron('H 2 * * *') }\n"
        "  stages {\n"
        "    stage('Test') { steps { sh 'pytest -q' } }\n"
        "    stage('Deploy') { steps { sh 'kubectl apply -f k8s/' } }\n"
        "  }\n"
        "}\n"),
    "azure-pipelines.yml": (
        "trigger: [main]\n"
        "schedules:\n"
        "  - cron: '0 0 * * 0'\n"
        "    branches: {include: [main]}\n"
        "steps:\n"
        "  - script: pytest\n"
        "    displayName: tests\n"
        "  - script: az ml online-deployment create -f deploy.yml\n"),
    ".circleci/config.yml": (
        "version: 2.1\n"
        "jobs:\n"
        "  test:\n"
        "    steps:\n"
        "      - checkout\n"
        "      - run: pytest\n"
        "  deploy:\n"
        "    steps:\n"
        "      - run:\n"
        "          name: release\n"
        "          command: aws sagemaker update-endpoint --endpoint-name churn\n"
        "workflows:\n"
        "  main:\n"
        "    jobs:\n"
        "      - test\n"
        "      - hold: {type: approval}\n"
        "      - deploy\n"),
    "bitbucket-pipelines.yml": (
        "pipelines:\n"
        "  default:\n"
        "    - step:\n"
        "        name: test\n"
        "        script: [pytest]\n"),
    "buildspec.yml": (
        "version: 0.2\n"
        "phases:\n"
        "  build:\n"
        "    commands:\n"
        "      - docker build -t 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:$CODEBUILD_RESOLVED_SOURCE_VERSION .\n"
        "      - docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:$CODEBUILD_RESOLVED_SOURCE_VERSION\n"),
    "cloudbuild.yaml": (
        "steps:\n"
        "  - name: gcr.io/cloud-builders/docker\n"
        "    args: [build, -t, gcr.io/acme/churn:$SHORT_SHA, .]\n"
        "  - name: gcr.io/google.com/cloudsdktool/cloud-sdk\n"
        "    entrypoint: gcloud\n"
        "    args: [run, deploy, churn, --image, gcr.io/acme/churn:$SHORT_SHA]\n"
        "images: [gcr.io/acme/churn:$SHORT_SHA]\n"),
}


def test_every_ci_system(tmp_path):
    make_repo(tmp_path / "r", CI_FILES)
    evidence, unobserved = run(tmp_path / "cache", path=str(tmp_path / "r"))
    assert unobserved == []
    systems = {e.attributes["system"] for e in evidence if e.signal == "ci.pipeline"}
    assert systems == {"gitlab_ci", "jenkins", "azure_pipelines", "circleci", "bitbucket_pipelines",
                       "aws_codebuild", "google_cloud_build"}
    deploys = {where(e) for e in evidence if e.signal == "ci.deploy_step"}
    assert {".gitlab-ci.yml:9", "Jenkinsfile:6", "azure-pipelines.yml:8", ".circleci/config.yml:9",
            "cloudbuild.yaml:4"} <= deploys
    tests = {where(e) for e in evidence if e.signal == "ci.test_step"}
    assert {".gitlab-ci.yml:2", "Jenkinsfile:5", "azure-pipelines.yml:6", ".circleci/config.yml:6",
            "bitbucket-pipelines.yml:3"} <= tests
    scheduled = {where(e) for e in evidence if e.signal == "schedule.job"}
    assert {".gitlab-ci.yml:1", "Jenkinsfile:1"} <= scheduled
    approvals = {(where(e), str(e.strength)) for e in evidence if e.signal == "governance.approval"}
    assert {(".gitlab-ci.yml:9", "configured"), (".circleci/config.yml:16", "configured")} <= approvals
    builds = {k for e in evidence if e.signal == "ci.build_image" for k in e.attributes["link_keys"]}
    assert builds == {"image:123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn", "image:gcr.io/acme/churn"}


def test_infrastructure_as_code(tmp_path):
    make_repo(tmp_path / "r", {
        "infra/main.tf": (
            'resource "aws_sagemaker_endpoint" "churn" {\n  name = "churn"\n}\n'
            'resource "aws_cloudtrail" "audit" {\n  name = "audit"\n}\n'
            'resource "aws_budgets_budget" "ml" {\n  budget_type = "COST"\n}\n'
            'resource "aws_kms_key" "data" {}\n'),
        "cfn/stack.yaml": (
            "AWSTemplateFormatVersion: '2010-09-09'\n"
            "Resources:\n"
            "  Features:\n"
            "    Type: AWS::SageMaker::FeatureGroup\n"
            "    Properties: {FeatureGroupName: churn}\n"
            "  Bucket:\n"
            "    Type: AWS::S3::Bucket\n"),
        "k8s/policy.yaml": (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader}\n"),
    })
    evidence, unobserved = run(tmp_path / "cache", path=str(tmp_path / "r"))
    assert unobserved == []
    got = {(e.signal, where(e)) for e in evidence}
    assert {("serving.deployment", "infra/main.tf:1"), ("audit.logging", "infra/main.tf:4"),
            ("cost.control", "infra/main.tf:7"), ("security.encryption", "infra/main.tf:10"),
            ("feature_store.definition", "cfn/stack.yaml:3"),
            ("security.network_policy", "k8s/policy.yaml:1"),
            ("security.access_control", "k8s/policy.yaml:5")} <= got
    iac = {e.attributes["tool"] for e in evidence if e.signal == "iac.definition"}
    assert iac == {"terraform", "cloudformation"}


def test_credentials_in_a_clone_url_are_used_but_never_stored_or_shown(tmp_path):
    """A dumb-HTTP server stands in for a git host; the token in the URL reaches git through
    the environment only: not in the output, not in the clone's files."""
    import functools
    import json
    import subprocess
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.servers._util import free_port

    origin = make_repo(tmp_path / "origin", {"Dockerfile": "FROM python:3.11-slim\n"})
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(served / "repo.git")], check=True)
    subprocess.run(["git", "-C", str(served / "repo.git"), "update-server-info"], check=True)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        secret = "tok3n-S3CRET-value-42"
        evidence, unobserved = run(tmp_path / "cache", url=f"http://bot:{secret}@127.0.0.1:{port}/repo.git")
    finally:
        server.shutdown()
        server.server_close()
    assert [e for e in evidence if e.signal == "env.container_image"]
    out = json.dumps([e.to_dict() for e in evidence] + [u.to_dict() for u in unobserved])
    assert secret not in out
    assert all(e.locator.startswith(f"git+http://127.0.0.1:{port}/repo.git@") for e in evidence)
    for f in (tmp_path / "cache").rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
