"""The git probe: reads the committed tree of a repository through git objects and reports
CI/CD, environments, dependencies, pipelines, deployment config, data versioning, governance
and history. Never checks out, never runs hooks, filters or repository content.

Only the standard library, PyYAML and the ``git`` executable are used; nothing heavy is
imported at module import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.evidence import Evidence, Holdings, Strength, Unobserved
from auditor.probe import Probe, ProbeCancelled, ProbeContext, Target
from probes.git.settings import GitSettings, target_from_argument

if TYPE_CHECKING:
    from probes.git.source import Repo

SIGNALS = ("vcs", "tempo", "env", "compute", "tool", "ci", "schedule", "serving", "pipeline",
           "feature_store", "distributed", "monitoring", "data_validation", "registry", "image",
           "metadata", "lineage", "data_versioning", "remediation", "validation", "fairness",
           "explainability", "docs", "review", "governance", "security", "audit", "cost",
           "quality", "deploy", "iac", "tracking", "model", "tuning")


class GitProbe(Probe):
    kind: ClassVar[str] = "git"
    signals: ClassVar[tuple[str, ...]] = SIGNALS
    settings_model = GitSettings
    description: ClassVar[str] = ("Git repositories (local path or clone URL): CI/CD, environments, "
                                  "dependencies, pipelines, deployment config, governance, history")
    default_timeout: ClassVar[float] = 300.0
    project: ClassVar[bool] = True
    resolves: ClassVar[tuple[str, ...]] = ("commit",)  # the commits it holds

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        return target_from_argument(argument)

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved | Holdings]:
        from probes.git.collect import collect

        opened: list[Repo] = []
        yield from collect(target, ctx, SIGNALS, on_open=opened.append if ctx.holdings else None)
        if opened:  # collected to files: the commits it holds, for links from other shards
            yield from _held_commits(target, ctx, opened[0])

    def resolve_links(self, target: Target, ctx: ProbeContext,
                      keys: Sequence[str]) -> Iterator[Evidence]:
        """``commit:<sha>`` keys this repository holds, checked with one ``--batch-check``."""
        from probes.git.collect import no_lazy_fetch
        from probes.git.gitcmd import GitError
        from probes.git.source import SourceError, open_repository

        shas = {k.split(":", 1)[1].lower() for k in keys
                if k.startswith("commit:") and _SHA.fullmatch(k.split(":", 1)[1])}
        if not shas:
            return
        try:
            repo = open_repository(target.settings, ctx, fetch=False)
        except SourceError:
            return
        git = no_lazy_fetch(repo) if repo.partial else repo.git  # never fetch for a lookup
        try:
            out = git.text("cat-file", "--batch-check=%(objectname) %(objecttype)",
                           input="".join(s + "\n" for s in sorted(shas)).encode())
        except GitError:
            return
        found = [parts[0] for parts in map(str.split, out.splitlines())
                 if len(parts) == 2 and parts[1] == "commit" and parts[0] in shas]
        yield from commits_held(target.name, repo, found).resolve(keys)


#: commits listed per repository for links resolved from stored evidence (the newest kept)
MAX_HELD_COMMITS = 200_000
_SHA = re.compile(r"[0-9a-fA-F]{40}")


def commits_held(target: str, repo: Repo, shas: Iterable[str], truncated: bool = False) -> Holdings:
    """The commits ``repo`` holds, as the one place their ``vcs.commit`` evidence is made
    (:meth:`Holdings.evidence`): by ``resolve_links`` here and by ``assess`` from the
    holdings a collect run stored."""
    return Holdings(target=target, probe="git", prefix="commit:", signal="vcs.commit",
                    strength=Strength.CONFIGURED, locator=f"git+{repo.display}",
                    attributes={"tool": "git"}, items=frozenset(shas), truncated=truncated)


def _held_commits(target: Target, ctx: ProbeContext, repo: Repo) -> Iterator[Holdings | Unobserved]:
    """One ``git rev-list --all --reflog`` (commits only: no tree or blob is read, nothing is
    fetched), capped at :data:`MAX_HELD_COMMITS`; read in-process for a repository open in
    this process (the same commits; git lists them when there are more than the cap)."""
    from probes.git.collect import no_lazy_fetch
    from probes.git.gitcmd import GitError

    if repo.local is not None:
        from probes.git.in_process import held_commits

        found = held_commits(repo.local, MAX_HELD_COMMITS)
        if found is not None:
            yield commits_held(target.name, repo, found)
            return
    git = no_lazy_fetch(repo) if repo.partial else repo.git
    try:
        out = git.run("rev-list", "--all", "--reflog", f"--max-count={MAX_HELD_COMMITS + 1}")
    except GitError as exc:
        yield ctx.unobserved(target, what="commits held",
                             reason=f"cannot list the repository's commits ({exc}): runs elsewhere "
                                    f"that cite them link here only when collected with it")
        return
    shas = [line.decode() for line in out.split() if _SHA.fullmatch(line.decode("ascii", "replace"))]
    yield commits_held(target.name, repo, shas[:MAX_HELD_COMMITS],
                       truncated=len(shas) > MAX_HELD_COMMITS)


__all__ = ["GitProbe", "GitSettings", "ProbeCancelled", "Callable"]
