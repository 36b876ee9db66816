"""What one repository costs the git probe: the git processes it starts, and that the merged
searches and the one-call opening find exactly what the separate calls found."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from auditor.evidence import Evidence
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe, detect
from probes.git.collect import _grep
from probes.git.declare import Files
from probes.git.detect import code
from probes.git.gitcmd import Git
from probes.git.settings import GitSettings
from probes.git.source import open_repository
from tests.repos import STAGE2, make_repo

SHARED = Files.union(d.files for d in detect.detectors() if d.files.grep and not d.own_grep)


def audit(path: Path, tmp: Path) -> tuple[list, int]:
    target = Target(name="r", kind="git", settings=GitSettings(path=str(path)))
    Git.spawned = 0
    items = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=tmp / "cache", timeout=60)))
    return items, Git.spawned


def test_a_plain_local_repository_costs_six_git_processes_and_tags_one_more(tmp_path):
    """rev-parse, config, ls-tree, grep, cat-file --batch, log; for-each-ref only with tags."""
    repo = make_repo(tmp_path / "r", STAGE2)
    items, spawned = audit(repo, tmp_path)
    assert spawned == 6
    assert not [i for i in items if isinstance(i, Evidence) and i.signal == "vcs.release_tags"]
    bare = tmp_path / "bare.git"
    git.Repo.clone_from(repo, bare, bare=True).close()
    bare_items, spawned = audit(bare, tmp_path)
    assert spawned == 6
    assert len(bare_items) == len(items)

    with git.Repo(repo) as r:
        r.create_tag("v1.0.0", message="first")
        r.create_remote("origin", "https://deploy:s3cret-Tok3n@git.example.com/team/churn.git")
    items, spawned = audit(repo, tmp_path)
    assert spawned == 7
    ev = {i.signal: i for i in items if isinstance(i, Evidence)}
    assert ev["vcs.release_tags"].attributes["latest"] == "v1.0.0"
    assert ev["vcs.repository"].attributes["remote"] == "https://git.example.com/team/churn.git"


def test_the_one_grep_finds_what_the_two_separate_greps_found(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "src/train.py": "import os\nimport mlflow\n",
        "src/models.py": "class Spec:\n    kind: str\n    apiVersion: str\n",  # config lines, no import
        "src/deep/n.ipynb": '{"cells": [{"source": ["import torch\\n"]}]}\n',
        "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nscript: |\n  import mlflow\n",
        "notes.json": '{"a": "import mlflow"}\n',
        "cfn/stack.template": "AWSTemplateFormatVersion: '2010-09-09'\n",
        "Upper.PY": "import mlflow\n",  # the glob is case-sensitive, as git's pathspec is
    })
    opened = open_repository(GitSettings(path=str(repo)), ProbeContext(probe="git", cache_dir=tmp_path))
    found = _grep(opened, None, SHARED)

    code_alone = opened.git.run(*code.grep_command(opened, None, "-P"), ok_codes=(0, 1))
    args = ["grep", "-n", "-I", "-E", "--null", "--full-name", "--no-color"]
    for p in SHARED.grep:
        args += ["-e", p]
    config_alone = opened.git.run(*args, opened.head, "--", *SHARED.grep_globs, ok_codes=(0, 1))

    assert sorted(found.code.split(b"\0")) == sorted(code_alone.split(b"\0"))
    assert b"src/models.py" not in found.code and b"Upper.PY" not in found.code
    # the lines of the separate grep, plus import lines of config files, which no detector's
    # own patterns keep (Scan.grep_hits)
    alone = set(config_alone.splitlines())
    merged = set(found.config.splitlines())
    assert alone <= merged
    extra = [line.split(b"\0") for line in merged - alone]
    assert [(path.split(b":", 1)[1], text) for path, _, text in extra] == [(b"k8s/deploy.yaml", b"  import mlflow")]
    assert not SHARED.grep_matches("  import mlflow")


@pytest.mark.parametrize("engine", ["-P", "-E"])
def test_every_declared_content_pattern_is_valid_for_both_grep_engines(tmp_path, engine):
    repo = make_repo(tmp_path / "r", {"a.yaml": "kind: Deployment\n"})
    for pattern in (*SHARED.grep, code.import_pattern()):
        proc = subprocess.run(["git", "-C", str(repo), "grep", "-q", engine, "-e", pattern, "HEAD"],
                              capture_output=True, text=True)
        assert proc.returncode in (0, 1), (pattern, proc.stderr)
