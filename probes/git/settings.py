"""Target settings for the git probe and how a CLI argument becomes a git target."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from auditor.probe import Settings

_URL = re.compile(r"^(https?|ssh|git|file)://", re.I)
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)")


class GitSettings(Settings):
    """``path`` (a local repository) or ``url`` (cloned into the cache as a partial clone)."""

    path: str | None = None
    url: str | None = None
    ref: str = "HEAD"
    subdir: str | None = None
    max_commits: int = Field(default=1000, ge=1, le=100_000)
    max_file_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: how a local repository is read: ``git`` (a git process per read), ``in-process``
    #: (libgit2, no process; falls back to git for what it does not read the same way), or
    #: ``auto``: in-process when the run audits a fleet (see ``probes.git.in_process``)
    reader: Literal["auto", "git", "in-process"] = "auto"

    @model_validator(mode="after")
    def _exactly_one_source(self) -> GitSettings:
        if bool(self.path) == bool(self.url):
            raise ValueError("give exactly one of 'path' or 'url'")
        if self.subdir is not None:
            parts = Path(self.subdir.strip("/")).parts
            if ".." in parts or self.subdir.startswith("/"):
                raise ValueError("'subdir' must be a relative path inside the repository")
        if self.ref.startswith("-"):
            raise ValueError("'ref' must not start with '-'")
        return self


def looks_like_url(text: str) -> bool:
    return bool(_URL.match(text) or _SCP.match(text) or text.rstrip("/").endswith(".git"))


def repo_name_from_url(url: str) -> str:
    path = url.split(":", 1)[1] if _SCP.match(url) and "://" not in url else urlsplit(url).path
    base = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return _clean_name(base or "repo")


def _clean_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "repo"
    return name if name[0].isalnum() else "r" + name


def target_from_argument(argument: str) -> dict[str, Any] | None:
    """A directory → ``{name, path}``; a clone URL → ``{name, url}``; anything else → None."""
    if os.path.isdir(argument):
        path = os.path.abspath(argument)
        return {"name": _clean_name(os.path.basename(path.rstrip("/")) or "repo"), "path": path}
    if looks_like_url(argument):
        return {"name": repo_name_from_url(argument), "url": argument}
    return None
