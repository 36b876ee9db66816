"""Where the repository comes from: a local path, or a URL cloned (partially) into the cache."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from auditor import processes
from auditor.probe import ProbeContext
from auditor.redact import redact, register_secret
from probes.git.gitcmd import Git, GitError
from probes.git.settings import GitSettings


class SourceError(Exception):
    """The repository could not be opened; ``str()`` is one redacted line for the user."""


class EmptyRepository(SourceError):
    """The repository exists but has no commit at the ref."""


@dataclass
class Repo:
    git: Git
    head: str
    ref: str
    display: str  # URL shown in locators, credentials removed
    partial: bool = False
    notes: list[str] = field(default_factory=list)

    def locator(self, path: str = "", line: int | None = None) -> str:
        where = f"#{quote(path, safe='/._-~+@')}" if path else ""
        if path and line:
            where += f":{line}"
        return f"git+{self.display}@{self.head}{where}"


def split_credentials(url: str) -> tuple[str, str]:
    """(url without userinfo secrets, display form). Registers every secret found."""
    parts = urlsplit(url)
    if "@" not in parts.netloc or parts.scheme in ("", "ssh", "git"):
        return url, redact(url)
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    if password:
        register_secret(password)
        register_secret(userinfo)
    elif parts.scheme in ("http", "https") and user:
        register_secret(user)  # token-only userinfo (https://<token>@host)
    stripped = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    return stripped, stripped


def cache_key(url: str) -> str:
    return hashlib.sha1(redact(split_credentials(url)[1]).encode()).hexdigest()


def open_repository(settings: GitSettings, ctx: ProbeContext, fetch: bool = True) -> Repo:
    if settings.url:
        return _open_url(settings, ctx, fetch)
    return _open_path(settings, ctx)


def _open_path(settings: GitSettings, ctx: ProbeContext) -> Repo:
    assert settings.path is not None
    path = Path(settings.path).expanduser()
    if not path.exists():
        raise SourceError(f"path does not exist: {path}")
    if not path.is_dir():
        raise SourceError(f"not a directory: {path}")
    path = path.resolve()
    # never discover a repository above the given directory
    git = Git(path, ctx.remaining, ceiling=str(path.parent))
    try:
        git_dir = git.text("rev-parse", "--absolute-git-dir").strip()
    except GitError:
        raise SourceError(f"not a git repository: {path}") from None
    bare = git.text("rev-parse", "--is-bare-repository").strip() == "true"
    if not bare:
        top = git.text("rev-parse", "--show-toplevel").strip()
        if Path(top).resolve() != path:
            raise SourceError(f"not the top of a git repository: {path}")
    partial = _is_partial(git)
    head = _resolve(git, settings.ref)
    display = Path(git_dir).as_uri() if bare else path.as_uri()
    return Repo(git=git, head=head, ref=settings.ref, display=display, partial=partial)


def _is_partial(git: Git) -> bool:
    try:
        return bool(git.text("config", "--get", "remote.origin.promisor", check=False).strip())
    except GitError:
        return False


def _resolve(git: Git, ref: str) -> str:
    out = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                  check=False).decode().strip()
    if len(out) == 40:
        return out
    has_any = git.run("rev-list", "-n", "1", "--all", check=False).strip()
    if not has_any:
        raise EmptyRepository("empty repository: no commits yet")
    raise SourceError(f"ref {ref!r} not found in the repository")


def _open_url(settings: GitSettings, ctx: ProbeContext, fetch: bool = True) -> Repo:
    assert settings.url is not None
    stripped, display = split_credentials(settings.url)
    extra: list[tuple[str, str]] = []
    if stripped != settings.url:
        extra.append((f"url.{settings.url}.insteadOf", stripped))
    root = Path(ctx.cache_dir) / "git"
    root.mkdir(parents=True, exist_ok=True)
    dest = root / cache_key(settings.url)
    notes: list[str] = []
    if (dest / "HEAD").exists():
        git = Git(dest, ctx.remaining, extra, ceiling=str(root))
        if not fetch:
            head = _resolve(git, settings.ref)
            return Repo(git=git, head=head, ref=settings.ref, display=redact(display), partial=True)
        try:
            git.run("fetch", "--quiet", "--prune", "--tags", "--no-recurse-submodules", "origin")
        except GitError as exc:
            notes.append(f"fetch failed, audited the cached copy: {exc}")
    elif not fetch:  # a lookup never goes to the network: no clone, nothing to look in
        raise SourceError(f"{display} is not in the cache")
    else:
        parent = Git(root, ctx.remaining, extra, ceiling=str(root))
        # the folder is removed if the clone fails, and on SIGTERM/SIGINT while it runs
        with processes.temporary_dir(".clone-", root) as tmp:
            try:
                parent.run("clone", "--quiet", "--bare", "--filter=blob:none",
                           "--no-recurse-submodules", "--", stripped, tmp)
                Git(tmp, ctx.remaining, extra).run("config", "remote.origin.fetch",
                                                   "+refs/heads/*:refs/heads/*")
            except GitError as exc:
                raise SourceError(f"cannot clone {display}: {exc}") from None
            # another run may have cloned it meanwhile; ours is then removed on leaving
            with contextlib.suppress(OSError):
                os.replace(tmp, dest)
        git = Git(dest, ctx.remaining, extra, ceiling=str(root))
    head = _resolve(git, settings.ref)
    return Repo(git=git, head=head, ref=settings.ref, display=redact(display), partial=True,
                notes=notes)
