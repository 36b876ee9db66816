"""One audit of one repository: open it, list the tree once, run the detectors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeCancelled, ProbeContext, Target
from probes.git import history
from probes.git.detect import ci, code, data, dependencies, environment, governance, iac, manifests
from probes.git.gitcmd import BlobReader, GitError
from probes.git.scan import Scan, pathspec
from probes.git.settings import GitSettings
from probes.git.source import EmptyRepository, Repo, SourceError, open_repository
from probes.git.tree import (
    SUBMODULE,
    SYMLINK,
    Entry,
    fill_sizes,
    list_tree,
    prefetch,
    resolve_symlink,
)

_CONFIG_EXT = (".yaml", ".yml", ".json", ".toml", ".cfg", ".txt", ".tf", ".bicep", ".lock",
               ".in", ".md", ".rst", ".dvc", ".ipynb", ".py")
_CONFIG_NAMES = {"dockerfile", "containerfile", "jenkinsfile", "mlproject", "pipfile", "codeowners",
                 ".gitattributes", "config", "go.sum"}

_MANIFEST_PATTERNS = (r"^\s*(apiVersion|kind)\s*:", r"^(groups|route|receivers|pipelineInfo)\s*:",
                      r"AWSTemplateFormatVersion", r"Type\"?\s*:\s*[\"']?AWS::")


def collect(target: Target, ctx: ProbeContext, all_signals: tuple[str, ...]
            ) -> Iterator[Evidence | Unobserved]:
    settings: GitSettings = target.settings
    try:
        repo = open_repository(settings, ctx)
    except EmptyRepository as exc:
        yield ctx.unobserved(target, what=f"ref {settings.ref}", reason=str(exc))
        return
    except SourceError as exc:
        yield ctx.unobserved(target, what=settings.url or settings.path or target.name,
                             reason=str(exc), signals=all_signals)
        return
    except GitError as exc:
        yield ctx.unobserved(target, what=settings.url or settings.path or target.name,
                             reason=str(exc), signals=all_signals)
        return
    for note in repo.notes:
        yield ctx.unobserved(target, what="fetch", reason=note)
    # The git greps only need the commit: in a full repository they start now and run while
    # the tree is listed and the small files are read. (In a partial clone they wait for the
    # blob prefetch, or git would fetch every blob it searches one by one.)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="git-grep")
    greps: dict[str, Future] = {}
    if not repo.partial:
        greps = {"code": pool.submit(code.run_grep, repo, settings.subdir),
                 "config": pool.submit(_config_grep, repo, settings.subdir)}
    try:
        entries = list_tree(repo.git, repo.head, settings.subdir, with_sizes=not repo.partial)
    except GitError as exc:
        yield ctx.unobserved(target, what="tree", reason=f"cannot list the tree: {exc}",
                             signals=all_signals)
        pool.shutdown(wait=False)
        return
    if settings.subdir and not entries:
        yield ctx.unobserved(target, what=f"subdir {settings.subdir}",
                             reason="no files under this directory at the audited ref",
                             signals=[s for s in all_signals if s not in ("vcs", "tempo")])
    reader = BlobReader(repo.git)
    try:
        if repo.partial:
            wanted = [e for e in entries if e.is_blob and _maybe_read(e)]  # partial clones only
            try:
                prefetch(repo.git, repo.head, wanted)
                fill_sizes(repo.git, wanted)
            except GitError as exc:
                yield ctx.unobserved(target, what="blobs", reason=f"cannot fetch file contents: {exc}")
        scan = Scan(target=target, ctx=ctx, repo=repo, tree=entries, reader=reader,
                    max_file_bytes=settings.max_file_bytes, subdir=settings.subdir)
        if not greps:
            greps = {"code": pool.submit(code.run_grep, repo, settings.subdir),
                     "config": pool.submit(_config_grep, repo, settings.subdir)}
        pool.shutdown(wait=False)
        config_grep = once(lambda: _config_candidates(scan, greps["config"].result()))
        yield from _links_and_modules(scan)
        steps: list[tuple[str, tuple[str, ...], Callable[[], Iterator[Evidence]]]] = [
            ("history", ("vcs", "tempo"),
             lambda: history.detect(scan, settings.max_commits, settings.subdir)),
            ("environments", ("env", "compute"), lambda: environment.detect(scan)),
            ("dependencies", ("tool", "env"), lambda: dependencies.detect(scan)),
            ("CI/CD", ("ci", "schedule", "security", "governance"), lambda: ci.detect(scan)),
        ]
        steps += [
            ("deployment config", ("serving", "schedule", "pipeline", "distributed", "monitoring",
                                   "security", "deploy", "compute", "image", "cost", "audit",
                                   "remediation"),
             lambda: manifests.detect(scan, config_grep()[0])),
            ("infrastructure as code", ("iac", "security", "audit", "cost", "serving"),
             lambda: iac.detect(scan, config_grep()[1])),
            ("data versioning", ("data_versioning", "lineage", "pipeline"), lambda: data.detect(scan)),
            ("governance", ("docs", "review", "quality", "governance"), lambda: governance.detect(scan)),
            ("code", ("tool", "registry", "pipeline", "lineage", "metadata", "monitoring"),
             lambda: code.detect(scan, greps["code"].result)),
        ]
        for area, signals, run in steps:
            try:
                for item in run():
                    yield item
                    yield from scan.drain()
            except ProbeCancelled:
                raise
            except GitError as exc:
                yield ctx.unobserved(target, what=area, reason=str(exc), signals=signals)
            except Exception as exc:  # one broken area must not hide the others
                yield ctx.unobserved(target, what=area,
                                     reason=f"{type(exc).__name__}: {exc}", signals=signals)
            yield from scan.drain()
            ctx.check()
        yield from scan.summary_note()
    finally:
        reader.close()


def _maybe_read(e: Entry) -> bool:
    n = e.name.lower()
    return n.endswith(_CONFIG_EXT) or n in _CONFIG_NAMES or n.startswith(("dockerfile", "containerfile",
                                                                           "jenkinsfile", "changelog"))


def _links_and_modules(scan: Scan) -> Iterator[Unobserved]:
    """Symlinks are never followed; those pointing outside the repository are noted."""
    subs = 0
    for entry in scan.tree.special():
        if entry.mode == SYMLINK:
            if resolve_symlink(entry, scan.reader) is None:
                scan.note(entry.path, "symlink points outside the repository; not followed")
        elif entry.mode == SUBMODULE:
            subs += 1
    if subs:
        scan.pending.append(scan.ctx.unobserved(scan.target, what="submodules",
                                                reason=f"{subs} submodule(s) not audited"))
    yield from scan.drain()


_HANDLED_ELSEWHERE = re.compile(
    r"(^|/)(\.github/workflows/|\.gitlab-ci\.yml$|\.circleci/|bitbucket-pipelines|azure-pipelines|"
    r"(docker-)?compose[\w.-]*\.ya?ml$|\.pre-commit-config|dvc\.(yaml|lock)$|Chart\.yaml$|"
    r"(environment|conda)[\w.-]*\.ya?ml$|\.devcontainer|buildspec|cloudbuild|dependabot)")


def _config_grep(repo: Repo, subdir: str | None) -> bytes:
    """YAML/JSON files that look like Kubernetes manifests, rule files or CloudFormation,
    found with one ``git grep -l`` instead of parsing every YAML file."""
    args = ["grep", "-l", "-I", "-E", "--null", "--full-name"]
    for p in _MANIFEST_PATTERNS:
        args += ["-e", p]
    return repo.git.run(*args, repo.head, *pathspec(subdir, "*.yaml", "*.yml", "*.json", "*.template"),
                        ok_codes=(0, 1))


def once(compute: Callable[[], tuple[list[Entry], list[Entry]]]):
    """Compute once, on first use (both the manifest and the IaC detector need it)."""
    cache: list = []

    def get():
        if not cache:
            cache.append(compute())
        return cache[0]

    return get


def _config_candidates(scan: Scan, out: bytes) -> tuple[list[Entry], list[Entry]]:
    prefix = scan.repo.head + ":"
    k8s, cfn = [], []
    for raw in out.split(b"\0"):
        path = raw.decode("utf-8", "surrogateescape").strip().removeprefix(prefix)
        entry = scan.tree.get(path)
        if entry is None or _HANDLED_ELSEWHERE.search(path) or entry.mode == SYMLINK:
            continue
        if path.endswith((".json", ".template")):
            cfn.append(entry)
        else:
            k8s.append(entry)
    # a YAML CloudFormation template is read by the IaC detector, not as a manifest
    cfn_yaml = _cfn_yaml(scan, k8s)
    k8s = [e for e in k8s if e.path not in cfn_yaml]
    return k8s, cfn + [scan.tree[p] for p in sorted(cfn_yaml)]


def _cfn_yaml(scan: Scan, entries: list[Entry]) -> set[str]:
    if not entries:
        return set()
    args = ["grep", "-l", "-I", "-E", "--null", "--full-name", "-e", _MANIFEST_PATTERNS[2],
            "-e", _MANIFEST_PATTERNS[3], scan.repo.head, *scan.pathspec("*.yaml", "*.yml")]
    out = scan.repo.git.run(*args, ok_codes=(0, 1))
    prefix = scan.repo.head + ":"
    return {raw.decode("utf-8", "surrogateescape").strip().removeprefix(prefix)
            for raw in out.split(b"\0") if raw.strip()}


__all__ = ["collect", "Strength"]
