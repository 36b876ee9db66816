"""Every repository of an OCI/Docker registry, each its own target.

Why one target per repository rather than one per registry: a repository belongs to a team
(``retention/churn-model``), and only as its own target can it carry that team's label, so
its images serve the team's projects instead of the whole organisation; a large registry
then spreads over shards, and one slow repository times out alone. What it costs: one
``GET /v2/`` per repository target (the catalog is read once, here). Each target names its
repository literally, so the probe skips the catalog and answers link look-ups only for it.

The catalog is read with the probe's own client (credentials, caps, page limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from auditor.discovery.base import Found, Result, Selector, Spec
from auditor.probe import ProbeContext, Target

NAME_FORMAT = "{host}-{repository}"
FIELDS = ("host", "repository")
GENERATED = ("url", "repositories")


class OciSpec(Spec):
    url: str = Field(pattern=r"^https?://[^/\s]+")
    #: globs over repository names (``ml/*``); the catalog is read to match them
    repositories: list[str] = ["*"]
    exclude: list[str] = []

    def selector(self) -> Selector:
        return Selector(tuple(self.repositories), tuple(self.exclude))


SPEC = OciSpec


def describe(spec: OciSpec) -> str:
    return f"repositories of {spec.url}"


def placeholder(spec: OciSpec) -> dict[str, Any]:
    return {"url": spec.url, "repositories": ["placeholder"]}


def identity(settings: Any) -> tuple | None:
    get = settings.get if isinstance(settings, Mapping) else (lambda k: getattr(settings, k, None))
    url, repos = get("url"), get("repositories")
    return ("oci", url.rstrip("/"), tuple(repos or ())) if url else None


def discover(spec: OciSpec, settings: Any, ctx: ProbeContext) -> Result:
    from probes.oci.collect import Walk

    result = Result()
    listing = settings.model_copy(update={"url": spec.url, "repositories": list(spec.repositories),
                                          "max_repositories": spec.max_targets})
    walk = Walk(Target(name="discovery", kind="oci", settings=listing), ctx)
    try:
        problem = walk.check_api()
        if problem:
            result.problems.append(problem)
            return result
        repos, notes = walk.list_repositories()
    except Exception as exc:  # the probe's errors carry a one-line ``reason``
        result.problems.append(getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}")
        return result
    result.problems += [note for note, _whole in notes]
    select = spec.selector()
    for repo in repos:
        if select.excluded((repo,)):
            continue
        result.found.append(Found(fields={"host": walk.host, "repository": repo}, subjects=(repo,),
                                  settings={"url": spec.url, "repositories": [repo]},
                                  key=f"{walk.host}/{repo}"))
    return result
