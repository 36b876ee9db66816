"""The git probe: reads the committed tree of a repository through git objects and reports
CI/CD, environments, dependencies, pipelines, deployment config, data versioning, governance
and history. Never checks out, never runs hooks, filters or repository content.

Only the standard library, PyYAML and the ``git`` executable are used; nothing heavy is
imported at module import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import Probe, ProbeCancelled, ProbeContext, Target
from probes.git.settings import GitSettings, target_from_argument

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

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        return target_from_argument(argument)

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from probes.git.collect import collect

        yield from collect(target, ctx, SIGNALS)

    def resolve_links(self, target: Target, ctx: ProbeContext,
                      keys: Sequence[str]) -> Iterator[Evidence]:
        """``commit:<sha>`` keys this repository holds, checked with one ``--batch-check``."""
        from probes.git.collect import no_lazy_fetch
        from probes.git.gitcmd import GitError
        from probes.git.source import SourceError, open_repository

        shas = {k.split(":", 1)[1].lower(): k for k in keys
                if k.startswith("commit:") and re.fullmatch(r"[0-9a-fA-F]{40}", k.split(":", 1)[1])}
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
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == "commit" and parts[0] in shas:
                yield Evidence(signal="vcs.commit", strength=Strength.CONFIGURED, target=target.name,
                               locator=f"git+{repo.display}@{parts[0]}",
                               attributes={"link_keys": [shas[parts[0]]], "tool": "git"})


__all__ = ["GitProbe", "GitSettings", "ProbeCancelled", "Callable"]
