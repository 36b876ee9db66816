"""Bad input for the git probe — each one its own test: one clear Unobserved line, the rest of
the repository (and the audit) goes on, and no secret ever reaches the output."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import git
import pytest

from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe
from probes.git.settings import GitSettings

ACTOR = git.Actor("T", "t@example.com")


def make_repo(path: Path, files: dict[str, str | bytes], symlinks: dict[str, str] | None = None) -> Path:
    repo = git.Repo.init(path)
    for rel, content in files.items():
        f = path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content if isinstance(content, bytes) else content.encode())
    for rel, dest in (symlinks or {}).items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(dest, path / rel)
    repo.index.add(list(files) + list(symlinks or {}))
    repo.index.commit("c", author=ACTOR, committer=ACTOR)
    repo.close()
    return path


def run(tmp: Path, **settings) -> tuple[list[Evidence], list[Unobserved]]:
    target = Target(name="bad", kind="git", settings=GitSettings(**settings))
    out = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=tmp / "cache", timeout=60)))
    for item in out:
        if isinstance(item, Unobserved):
            assert "\n" not in item.reason
    return [e for e in out if isinstance(e, Evidence)], [u for u in out if isinstance(u, Unobserved)]


def dump(items) -> str:
    return json.dumps([i.to_dict() for i in items])


def test_directory_that_is_not_a_repository(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "Dockerfile").write_text("FROM python:3.11\n")
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "plain"))
    assert evidence == []
    assert len(unobserved) == 1 and "not a git repository" in unobserved[0].reason
    assert "vcs" in unobserved[0].signals  # capabilities become unknown, not unmet


def test_subdirectory_of_a_repository_is_not_taken_for_the_repository(tmp_path):
    make_repo(tmp_path / "r", {"sub/a.txt": "x"})
    _, unobserved = run(tmp_path, path=str(tmp_path / "r" / "sub"))
    assert "not a git repository" in unobserved[0].reason


def test_empty_repository(tmp_path):
    git.Repo.init(tmp_path / "empty").close()
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "empty"))
    assert evidence == []
    assert len(unobserved) == 1 and "empty repository" in unobserved[0].reason
    assert unobserved[0].signals == ()  # nothing hidden: there is nothing to see


def test_path_that_does_not_exist(tmp_path):
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "nope"))
    assert evidence == [] and "does not exist" in unobserved[0].reason


def test_a_sha256_repository_is_audited(tmp_path):
    """A repository made with ``--object-format=sha256`` names commits with 64 hex digits; it
    was reported as having no HEAD."""
    import subprocess

    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(repo)], check=True)
    (repo / "train.py").write_text("import mlflow\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com",
                    "commit", "-qm", "c"], check=True)
    evidence, unobserved = run(tmp_path, path=str(repo))
    assert unobserved == []
    head = {e.signal: e for e in evidence}["vcs.repository"].attributes["head"]
    assert len(head) == 64
    assert "tool.experiment_tracking" in {e.signal for e in evidence}


def test_file_names_that_are_not_utf8_or_hold_a_newline_are_read(tmp_path):
    """One file named with a byte that is not UTF-8 made the whole code area fail (the
    locator could not be built), hiding every other file's imports; a manifest whose name
    holds a newline was never read (grep lines were split on newlines)."""
    import subprocess

    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / os.fsdecode(b"bad\xffname.py")).write_text("import mlflow\n")
    (repo / "serve.py").write_text("import bentoml\n")
    (repo / "pod\nspec.yaml").write_text("apiVersion: v1\nkind: Pod\n")  # a newline in a name
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com",
                    "commit", "-qm", "c"], check=True)
    evidence, unobserved = run(tmp_path, path=str(repo))
    assert unobserved == []
    where = {e.locator.rsplit("#", 1)[1] for e in evidence if "#" in e.locator}
    assert {"bad%FFname.py:1", "serve.py:1", "pod%0Aspec.yaml:1"} <= where


def test_unknown_ref(tmp_path):
    make_repo(tmp_path / "r", {"a.txt": "x"})
    _, unobserved = run(tmp_path, path=str(tmp_path / "r"), ref="release-9")
    assert "ref 'release-9' not found" in unobserved[0].reason


def test_unreachable_url_never_shows_the_credentials(tmp_path):
    from tests.servers._util import free_port

    secret = "s3cr3t-Passw0rd-xyz"
    url = f"https://deploy-bot:{secret}@127.0.0.1:{free_port()}/team/model.git"
    evidence, unobserved = run(tmp_path, url=url)
    assert evidence == []
    assert len(unobserved) == 1 and "cannot clone" in unobserved[0].reason
    assert secret not in dump(unobserved) and "deploy-bot:" not in dump(unobserved)
    for f in (tmp_path / "cache").rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes()


def test_malformed_yaml_toml_json_and_notebook(tmp_path):
    make_repo(tmp_path / "r", {
        ".github/workflows/ci.yml": "on: [push]\njobs:\n  test: [unclosed\n",
        "pyproject.toml": "[project\nname = 'x'\n",
        ".devcontainer/devcontainer.json": '{"image": ',
        "notebooks/broken.ipynb": '{\n "cells": [\n  {"cell_type": "code", "source": [\n    "import mlflow\\n",\n',
        "docker-compose.yml": "services:\n  a: {image: x\n",
        "Dockerfile": "FROM python:3.11-slim\n",
        "src/bad.py": "import mlflow\nfrom sklearn import (\n",
    })
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"))
    reasons = {u.what: u.reason for u in unobserved}
    assert reasons[".github/workflows/ci.yml"].startswith("invalid YAML: line 4: ")
    assert reasons["pyproject.toml"].startswith("invalid TOML")
    assert reasons[".devcontainer/devcontainer.json"].startswith("invalid JSON")
    assert reasons["notebooks/broken.ipynb"].startswith("invalid notebook")
    assert reasons["docker-compose.yml"].startswith("invalid YAML")
    assert reasons["src/bad.py"].startswith("invalid Python: line 2")
    assert all(u.signals == () for u in unobserved)
    # the rest of the repository is still audited
    assert {e.signal for e in evidence} >= {"vcs.repository", "env.container_image"}


def test_yaml_nested_absurdly_deep_is_refused_not_a_crash(tmp_path):
    """libyaml recurses in C without a limit: 100,000 levels in a 200 KB file (flow brackets,
    or block sequences on one line) used to kill the whole audit with a segmentation fault."""
    make_repo(tmp_path / "r", {
        "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec: " + "[" * 100_000 + "]" * 100_000,
        ".github/workflows/ci.yml": "on: [push]\njobs:\n  t:\n    steps:\n      " + "- " * 100_000 + "x\n",
        "Dockerfile": "FROM python:3.11-slim\n",
    })
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"))
    reasons = {u.what: u.reason for u in unobserved}
    assert reasons["k8s/deploy.yaml"] == "invalid YAML: nested too deeply"
    assert reasons[".github/workflows/ci.yml"] == "invalid YAML: nested too deeply"
    assert "env.container_image" in {e.signal for e in evidence}


def test_binary_and_huge_files_are_skipped_with_a_note(tmp_path):
    make_repo(tmp_path / "r", {
        "requirements.txt": b"\x00\x01\x02binary" * 10,
        "k8s/huge.yaml": "apiVersion: v1\nkind: ConfigMap\n" + "# padding\n" * 5000,
        "model.pkl": b"\x80\x04" + b"\x00" * 5000,
        "Dockerfile": "FROM python:3.11-slim\n",
    })
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"), max_file_bytes=4096)
    reasons = {u.what: u.reason for u in unobserved}
    assert "binary" in reasons["requirements.txt"]
    assert "over the 4096-byte cap" in reasons["k8s/huge.yaml"]
    assert "model.pkl" not in reasons  # never a candidate: not read at all
    assert any(e.signal == "env.container_image" for e in evidence)


def test_symlinks_pointing_outside_are_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("mlflow==2.0.0\n")
    (outside / "Dockerfile").write_text("FROM secret-base:1\n")
    make_repo(tmp_path / "r", {"README.md": "x"},
              symlinks={"requirements.txt": str(outside / "requirements.txt"),
                        "Dockerfile": "../outside/Dockerfile"})
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"))
    assert {u.what for u in unobserved} == {"requirements.txt", "Dockerfile"}
    assert all("outside the repository; not followed" in u.reason for u in unobserved)
    assert not [e for e in evidence if e.signal.startswith(("env.", "tool."))]
    assert "secret-base" not in dump(evidence)


def test_hooks_and_repository_configured_programs_never_run(tmp_path):
    repo_path = make_repo(tmp_path / "r", {"Dockerfile": "FROM python:3.11-slim\n",
                                           "a.py": "import mlflow\nmlflow.start_run()\n"})
    marker = tmp_path / "pwned"
    script = f"#!/bin/sh\ntouch {marker}\n"
    hooks = repo_path / ".git" / "hooks"
    for name in ("pre-commit", "post-checkout", "post-merge", "pre-push", "reference-transaction",
                 "fsmonitor-watchman", "post-index-change", "pre-auto-gc"):
        (hooks / name).write_text(script)
        (hooks / name).chmod(stat.S_IRWXU)
    prog = tmp_path / "prog.sh"
    prog.write_text(script)
    prog.chmod(stat.S_IRWXU)
    with git.Repo(repo_path).config_writer() as cfg:
        cfg.set_value("core", "fsmonitor", str(prog))
        cfg.set_value("core", "hooksPath", str(hooks))
        cfg.set_value("core", "pager", str(prog))
        cfg.set_value("gpg", "program", str(prog))
        cfg.set_value("log", "showSignature", "true")
        cfg.set_value("filter \"evil\"", "smudge", str(prog))
        cfg.set_value("filter \"evil\"", "clean", str(prog))
        cfg.set_value("diff \"evil\"", "textconv", str(prog))
    (repo_path / ".gitattributes").write_text("* filter=evil diff=evil\n")
    evidence, _ = run(tmp_path, path=str(repo_path))
    assert any(e.signal == "env.container_image" for e in evidence)
    assert not marker.exists()


def test_secrets_in_ci_files_never_reach_the_output(tmp_path):
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    make_repo(tmp_path / "r", {
        ".github/workflows/deploy.yml": (
            "on: [push]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - run: helm upgrade --install churn ./chart --set token={token}\n"
            "      - run: kubectl apply -f k8s/ --password=hunter2hunter2\n"),
        ".dvc/config": "['remote \"s\"']\n    url = https://user:dvcpass99@dvc.example.com/store\n",
    })
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"))
    out = dump(evidence) + dump(unobserved)
    assert any(e.signal == "ci.deploy_step" for e in evidence)
    assert token not in out and "hunter2hunter2" not in out and "dvcpass99" not in out


def test_security_scan_cron_is_not_model_ci(tmp_path):
    make_repo(tmp_path / "r", {
        ".github/workflows/scan.yml": (
            "on:\n  schedule:\n    - cron: '0 1 * * 1'\njobs:\n  scan:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - uses: actions/checkout@v4\n"
            "      - uses: aquasecurity/trivy-action@master\n        with:\n          scan-type: fs\n"),
    })
    evidence, _ = run(tmp_path, path=str(tmp_path / "r"))
    signals = {e.signal for e in evidence}
    assert "security.scanning" in signals
    assert not signals & {"ci.pipeline", "schedule.job"}


@pytest.mark.parametrize("signal", ["ci.pipeline"])
def test_one_broken_area_does_not_stop_the_others(tmp_path, signal, monkeypatch):
    from probes.git.detect import ci

    make_repo(tmp_path / "r", {".github/workflows/x.yml": "on: push\njobs: {}\n",
                               "Dockerfile": "FROM python:3.11\n"})

    def boom(scan):
        raise RuntimeError("detector bug")
        yield

    monkeypatch.setattr(ci, "detect", boom)
    evidence, unobserved = run(tmp_path, path=str(tmp_path / "r"))
    assert [u.what for u in unobserved] == ["CI/CD"] and "ci" in unobserved[0].signals
    assert any(e.signal == "env.container_image" for e in evidence)
