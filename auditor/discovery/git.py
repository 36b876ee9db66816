"""Every git repository under a folder: working trees (a ``.git`` folder or file) and bare
repositories (``HEAD``, ``objects/``, ``refs/``). A repository's own tree is never entered,
symbolic links are not followed, hidden folders are skipped and the depth is bounded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from auditor.discovery.base import Found, Result, Selector, Spec
from auditor.probe import ProbeContext

NAME_FORMAT = "{path}"
FIELDS = ("path", "name")
#: target settings discovery sets for each repository found
GENERATED = ("path", "url")


class GitSpec(Spec):
    root: str
    #: globs over the repository's path below ``root`` (``ml/*``, ``*/models-*.git``)
    include: list[str] = ["*"]
    #: globs over repository and folder paths; a folder excluded is not entered
    exclude: list[str] = []
    #: folders below ``root`` entered at most (``group/subgroup/repo.git`` is 3)
    max_depth: int = Field(default=6, ge=1, le=32)

    def selector(self) -> Selector:
        return Selector(tuple(self.include), tuple(self.exclude))


SPEC = GitSpec


def describe(spec: GitSpec) -> str:
    return f"git repositories under {spec.root}"


def placeholder(spec: GitSpec) -> dict[str, Any]:
    return {"path": spec.root}


def identity(settings: Any) -> tuple | None:
    path = getattr(settings, "path", None) if not isinstance(settings, Mapping) else settings.get("path")
    return ("git", os.path.realpath(path)) if path else None


def is_repository(path: str) -> bool:
    """A working tree or a bare repository (git's own test: HEAD, objects and refs)."""
    if os.path.lexists(os.path.join(path, ".git")):
        return True
    return (os.path.isfile(os.path.join(path, "HEAD"))
            and os.path.isdir(os.path.join(path, "objects"))
            and os.path.isdir(os.path.join(path, "refs")))


def _found(root: str, rel: str) -> Found:
    path = os.path.join(root, rel) if rel else root
    last = (rel or os.path.basename(os.path.normpath(root))).rsplit("/", 1)[-1]
    short = last.removesuffix(".git") or last
    shown = (rel.rsplit("/", 1)[0] + "/" + short) if "/" in rel else short
    return Found(fields={"path": shown, "name": short}, subjects=(rel or short,),
                 settings={"path": path}, key=rel or short)


def discover(spec: GitSpec, settings: Any, ctx: ProbeContext) -> Result:
    root = spec.root
    result = Result()
    if not os.path.exists(root):
        result.problems.append(f"{root}: no such folder")
        return result
    if not os.path.isdir(root):
        result.problems.append(f"{root}: not a folder")
        return result
    if is_repository(root):
        result.found.append(_found(root, ""))
        return result
    select = spec.selector()
    unreadable: list[str] = []
    limit = spec.max_targets
    stack: list[tuple[str, int]] = [("", 0)]
    while stack and len(result.found) <= limit:
        ctx.check()
        rel, depth = stack.pop()
        folder = os.path.join(root, rel) if rel else root
        try:
            with os.scandir(folder) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as exc:
            unreadable.append(f"{rel or '.'}: {exc.strerror or exc}")
            continue
        below: list[tuple[str, int]] = []
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            path = f"{rel}/{entry.name}" if rel else entry.name
            if select.excluded((path,)):
                continue
            if is_repository(entry.path):
                if select.wants((path,)):
                    result.found.append(_found(root, path))
            elif depth + 1 < spec.max_depth:
                below.append((path, depth + 1))
        stack.extend(reversed(below))  # depth first, in name order
    if len(result.found) > limit:
        result.found = result.found[:limit]
        result.problems.append(f"more than {limit} repositories under {root}: the first {limit} "
                               f"in path order are audited (raise discover.max_targets)")
    if unreadable:
        more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
        result.problems.append(f"{len(unreadable)} folder(s) under {root} could not be listed "
                               f"(first: {unreadable[0]}{more}); repositories there were not seen")
    return result
