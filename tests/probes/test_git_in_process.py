"""The in-process reader (libgit2) against the git command: the same evidence, item for item,
over real repositories; no git process where it reads; git wherever it would read otherwise."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import git
import pytest

from auditor.probe import Policy, ProbeContext, Target
from auditor.runner import run_probes
from benchmarks.bench_accuracy import CORPUS, clone, load_labels
from probes.git import GitProbe, in_process
from probes.git.gitcmd import Git
from probes.git.settings import GitSettings
from probes.git.source import open_repository
from tests.repos import AUTHOR, DATE, make_repo, make_stage6_repo, notebook


def collect(path: Path, tmp: Path, reader: str, **settings) -> tuple[list[str], int]:
    """Everything the probe yields, as comparable text (times aside), and the git processes
    it started."""
    target = Target(name="r", kind="git", settings=GitSettings(path=str(path), reader=reader, **settings))
    Git.spawned = 0
    items = []
    for item in GitProbe().collect(target, ProbeContext(probe="git", cache_dir=tmp / "cache", timeout=120)):
        fields = dataclasses.asdict(item)
        fields.pop("observed_at", None)
        items.append(json.dumps(fields, sort_keys=True, default=str))
    return items, Git.spawned


def assert_same(path: Path, tmp: Path, **settings) -> tuple[list[str], int]:
    by_git, _ = collect(path, tmp, "git", **settings)
    here, spawned = collect(path, tmp, "in-process", **settings)
    assert here == by_git
    return here, spawned


def commit(repo: Path, files: dict[str, str | bytes], message: str = "more", when: str = DATE) -> None:
    with git.Repo(repo) as r:
        for rel, content in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_bytes(content if isinstance(content, bytes) else content.encode())
        r.index.add(list(files))
        actor = git.Actor(*AUTHOR)
        r.index.commit(message, author=actor, committer=actor, author_date=when, commit_date=when)


#: files that exercise every read: the content search (imports, manifests, CloudFormation,
#: CRLF, no final newline, a match running across lines), binary content in a searched file,
#: notebooks, dependency pins, CI, a Dockerfile
TRICKY = {
    "train.py": "import os\nimport mlflow\nfrom sklearn import svm\n",
    "serve/app.py": "from fastapi import FastAPI\r\nimport bentoml\r\n",
    "notebooks/explore.ipynb": notebook("import pandas as pd\nimport evidently"),
    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: churn\n"
                       "spec:\n  template:\n    spec:\n      containers:\n        - image: churn:1",
    "k8s/across.yaml": "steps\n:\n- \n  script: x\n",  # no line matches alone
    "infra/stack.json": '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": '
                        '{"Type": "AWS::SageMaker::Endpoint"}}}\n',
    "data/blob.json": b'{"apiVersion": "v1"}\x00\x01binary\n',
    "tools/compiled.py": b"import mlflow\n\x00\x01",  # binary: not searched, never read as code
    "requirements.txt": "mlflow==2.16.0\ntorch==2.4.0\n",
    ".github/workflows/ci.yml": "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                "      - run: pytest\n      - run: docker build -t ghcr.io/a/b:1 .\n",
    "Dockerfile": "FROM python:3.11-slim\nRUN pip install mlflow\n",
    "empty.yaml": "",
}


def test_a_repository_read_in_process_gives_what_git_gives_and_starts_no_git(tmp_path):
    repo = make_repo(tmp_path / "r", TRICKY)
    (repo / "link.yaml").symlink_to("k8s/deploy.yaml")
    (repo / "out.yaml").symlink_to("/etc/passwd")
    # git grep never searches a symlink, whatever its target's text
    (repo / "pod.yaml").symlink_to("apiVersion: v1")
    (repo / "serve.py").symlink_to("import bentoml")
    with git.Repo(repo) as r:
        r.index.add(["link.yaml", "out.yaml", "pod.yaml", "serve.py"])
        # a submodule entry (a gitlink) without the submodule
        r.git.update_index("--add", "--cacheinfo", f"160000,{'1' * 40},vendor/lib")
        actor = git.Actor(*AUTHOR)
        r.index.commit("links", author=actor, committer=actor, author_date=DATE, commit_date=DATE)
    items, spawned = assert_same(repo, tmp_path)
    assert spawned == 0
    text = "\n".join(items)
    assert all(s in text for s in ("serve/app.py", "notebooks/explore.ipynb", "k8s/deploy.yaml",
                                   "infra/stack.json", "submodule"))

    bare = tmp_path / "bare.git"
    git.Repo.clone_from(repo, bare, bare=True).close()
    _, spawned = assert_same(bare, tmp_path)
    assert spawned == 0


def test_a_full_staged_repository_with_tags_reads_the_same_and_lists_its_tags_with_git(tmp_path):
    repo = make_stage6_repo(tmp_path / "r")
    items, spawned = assert_same(repo, tmp_path)
    assert spawned == 1  # for-each-ref: only a repository with tags starts one
    assert any('"vcs.release_tags"' in i for i in items)


def test_attributes_that_mark_a_file_binary_or_text_are_read_as_git_grep_reads_them(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        "k8s/job.yaml": "apiVersion: batch/v1\nkind: Job\n",
        "k8s/raw.json": b'{"kind": "Pod"}\x00\n',
        ".gitattributes": "k8s/deploy.yaml -diff\nk8s/raw.json diff\n",
    })
    _, spawned = assert_same(repo, tmp_path)
    assert spawned == 0
    bare = tmp_path / "bare.git"
    git.Repo.clone_from(repo, bare, bare=True).close()
    (bare / "info").mkdir(exist_ok=True)
    (bare / "info" / "attributes").write_text("*.yaml binary\n")
    assert_same(bare, tmp_path)


def test_a_history_longer_than_max_commits_is_read_by_git_log(tmp_path):
    repo = make_repo(tmp_path / "r", {"train.py": "import mlflow\n"})
    for i in range(6):
        commit(repo, {f"f{i}.txt": str(i)}, when=f"{1768478400 + i * 3600} +0000")
    items, spawned = assert_same(repo, tmp_path, max_commits=4)
    assert spawned == 1  # git log: which four come first is git's order
    assert any('"truncated": true' in i for i in items)
    _, spawned = assert_same(repo, tmp_path, max_commits=7)
    assert spawned == 0


def test_what_it_does_not_read_the_same_way_is_left_to_git(tmp_path):
    repo = make_repo(tmp_path / "r", {"ml/train.py": "import mlflow\n", "README.md": "# r\n"})
    with git.Repo(repo) as r:
        r.git.branch("-M", "main")
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", fleet=50)

    def local(**settings) -> bool:
        return open_repository(GitSettings(path=str(settings.pop("path", repo)), **settings), ctx).local is not None

    assert local()
    assert local(ref="refs/heads/main")
    assert not local(ref="main")  # git's revision syntax is git's to read
    assert not local(subdir="ml")  # a path-limited history too
    assert not local(reader="git")
    assert_same(repo, tmp_path, ref="main")
    assert_same(repo, tmp_path, subdir="ml")

    # not the top of a work tree, and an empty repository: git says why, the same either way
    assert_same(repo / "ml", tmp_path)
    empty = tmp_path / "empty"
    git.Repo.init(empty).close()
    items, _ = assert_same(empty, tmp_path)
    assert any("empty repository" in i for i in items)


def test_a_partial_clone_is_never_read_in_process(tmp_path):
    repo = make_repo(tmp_path / "r", {"train.py": "import mlflow\n"})
    with git.Repo(repo) as r:
        r.git.config("remote.origin.promisor", "true")
        r.git.config("remote.origin.url", "https://git.example.com/team/r.git")
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", fleet=50)
    assert open_repository(GitSettings(path=str(repo)), ctx).local is None


def test_without_pygit2_the_probe_reads_with_git(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", TRICKY)
    monkeypatch.setattr(in_process, "_library", lambda: None)
    by_git, _ = collect(repo, tmp_path, "git")
    here, spawned = collect(repo, tmp_path, "in-process")
    assert here == by_git
    assert spawned == 6


def test_a_fleet_is_read_in_process_and_one_repository_with_git(tmp_path):
    """``reader: auto``: from ten git targets in a run, no git process per repository."""
    repos = [make_repo(tmp_path / f"r{i}", {"train.py": f"import mlflow  # {i}\n"}) for i in range(10)]
    targets = [Target(name=f"r{i}", kind="git", settings=GitSettings(path=str(p))) for i, p in enumerate(repos)]
    probe = GitProbe()

    def run(ts: list[Target]) -> int:
        Git.spawned = 0
        result = run_probes([(t, probe) for t in ts], cache_dir=tmp_path / "cache", policy=Policy(),
                            jobs=2, executor="threads")
        assert result.unobserved == []
        assert {e.target for e in result.evidence if e.signal == "tool.experiment_tracking"} == {t.name for t in ts}
        return Git.spawned

    assert run(targets) == 0
    assert run(targets[:1]) == 6


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    labels = load_labels(CORPUS)  # fails loudly without the corpus, as the accuracy test does
    root = tmp_path_factory.mktemp("corpus")
    return [clone(CORPUS / label["bundle"], root / label["bundle"].removesuffix(".bundle"))
            for label in labels]


def test_every_corpus_repository_reads_the_same_in_process(corpus, tmp_path):
    """Real repositories (shallow clones of public ML projects): every item equal."""
    for path in corpus:
        items, spawned = assert_same(path, tmp_path)
        assert items and spawned <= 1, path.name


def test_the_unobserved_items_of_a_broken_file_are_the_same(tmp_path):
    repo = make_repo(tmp_path / "r", {"k8s/bad.yaml": "apiVersion: v1\nkind: [unclosed\n",
                                      "params.json": "{not json"})
    items, _ = assert_same(repo, tmp_path)
    notes = [json.loads(i) for i in items if '"reason"' in i]
    assert any("k8s/bad.yaml" in json.dumps(n) for n in notes)


def test_the_content_search_prints_what_git_grep_prints(tmp_path):
    """Byte for byte: the files whose code imports a known tool, and every matching line of
    the configuration files (a line is tried alone: ``steps`` and ``:`` on two lines is no
    match, though the pattern would match across them in the whole text)."""
    from probes.git import collect, detect
    from probes.git.declare import Files

    repo = make_repo(tmp_path / "r", {**TRICKY, "k8s/many.yaml": "kind: A\n---\nkind: B\n\n  kind: C",
                                      "pipe.yml": "steps:\n  - script: x\n- task: y\n"})
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", fleet=50)
    opened = open_repository(GitSettings(path=str(repo)), ctx)
    assert opened.local is not None
    shared = Files.union(d.files for d in detect.detectors() if d.files.grep and not d.own_grep)
    here = in_process.grep(opened.local, in_process.list_tree(opened.local), collect._search(shared))
    by_git = collect._grep(opened, None, shared)
    assert here == (by_git.code, by_git.config)
    assert b"k8s/across.yaml" not in by_git.config and b"k8s/many.yaml\x005\x00  kind: C\n" in by_git.config


def test_the_commits_a_repository_holds_are_git_rev_lists_without_a_git_process(tmp_path):
    """``collect`` records the commits a repository holds (for links from other shards): every
    ref and HEAD, annotated tags, a stash, notes, and reflog entries of abandoned commits."""
    from auditor.evidence import Holdings

    repo = make_repo(tmp_path / "r", {"train.py": "import mlflow\n"})
    commit(repo, {"a.txt": "1"})
    with git.Repo(repo) as r:
        r.git.tag("-a", "v1", "-m", "one")
        r.git.checkout("-b", "side")
        commit(repo, {"b.txt": "2"})
        r.git.commit("--amend", "-m", "amended", "--no-edit")  # the first one stays in the reflog
        r.git.checkout("-")
        (repo / "a.txt").write_text("stashed")
        r.git.stash()
        r.git.notes("add", "-m", "a note")
        expected = set(r.git.rev_list("--all", "--reflog").split())

    def held(reader: str) -> tuple[frozenset[str], int]:
        target = Target(name="r", kind="git", settings=GitSettings(path=str(repo), reader=reader))
        Git.spawned = 0
        ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", holdings=True)
        items = [i for i in GitProbe().collect(target, ctx) if isinstance(i, Holdings)]
        return items[0].items, Git.spawned

    by_git, _ = held("git")
    here, spawned = held("in-process")
    assert by_git == here == expected and len(expected) >= 6
    assert spawned == 1  # for-each-ref: the repository has a tag; nothing else
