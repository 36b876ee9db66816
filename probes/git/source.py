"""Where the repository comes from: a local path, or a URL cloned (partially) into the cache."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

from auditor import processes
from auditor.probe import ProbeContext
from auditor.redact import redact, register_secret
from probes.git.gitcmd import Git, GitError
from probes.git.settings import GitSettings

if TYPE_CHECKING:
    from probes.git.in_process import Local


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
    #: tags the repository has (from the rev-parse that opened it); None: not counted
    tags: int | None = None
    #: ``remote.origin.url`` as configured (read when a local repository is opened); None: not read
    origin: str | None = None
    #: the repository open in this process (``probes.git.in_process``), or None: git reads it
    local: Local | None = None

    def locator(self, path: str = "", line: int | None = None) -> str:
        # a path that is not UTF-8 keeps its bytes (decoded with surrogateescape): %-encoded
        where = f"#{quote(path, safe='/._-~+@', errors='surrogateescape')}" if path else ""
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
    if _in_process(settings, ctx):
        from probes.git import in_process

        local = in_process.open_local(path, settings.ref)
        if local is not None:
            display = Path(local.git_dir).as_uri() if local.bare else path.as_uri()
            return Repo(git=git, head=local.head, ref=settings.ref, display=display,
                        tags=local.tags, origin=local.origin, local=local)
    # one rev-parse answers what four used to: the git dir, bare or not, the top of the work
    # tree, the commit at the ref (and how many tags there are)
    facts = _rev_parse(git, settings.ref, "--absolute-git-dir", "--is-bare-repository",
                       "--is-inside-work-tree", "--show-prefix")
    if facts is None:  # no repository, or an answer this parser does not expect: one at a time
        try:
            git_dir = git.text("rev-parse", "--absolute-git-dir").strip()
        except GitError:
            raise SourceError(f"not a git repository: {path}") from None
        bare = git.text("rev-parse", "--is-bare-repository").strip() == "true"
        at_top, head, tags = False, None, None
    else:
        answers, head, tags = facts
        git_dir, bare = answers[0], answers[1] == "true"
        at_top = answers[2] == "true" and answers[3] == ""
    if not bare and not at_top:
        # not at the top of a work tree (or none at all): git says where the top is, or fails
        top = git.text("rev-parse", "--show-toplevel").strip()
        if Path(top).resolve() != path:
            raise SourceError(f"not the top of a git repository: {path}")
    config = _origin_config(git)
    partial = bool(config.get("remote.origin.promisor", "").strip())
    if head is None:
        head = _resolve(git, settings.ref)
    display = Path(git_dir).as_uri() if bare else path.as_uri()
    return Repo(git=git, head=head, ref=settings.ref, display=display, partial=partial, tags=tags,
                origin=config.get("remote.origin.url", "").strip())


def _in_process(settings: GitSettings, ctx: ProbeContext) -> bool:
    """Whether to read the repository in this process (see :mod:`probes.git.in_process`):
    asked for, or ``auto`` in a fleet; never for a ``subdir`` (a path-limited history is
    git's to read)."""
    if settings.subdir or settings.reader == "git":
        return False
    from probes.git.in_process import FLEET

    return settings.reader == "in-process" or ctx.fleet >= FLEET


def _rev_parse(git: Git, ref: str, *asks: str) -> tuple[list[str], str | None, int] | None:
    """One ``git rev-parse --tags <asks> --verify REF^{commit}``: the answers to ``asks`` (one
    line each; each must print one), the commit (None when the ref does not resolve) and the
    number of tags. None when git found no repository or the output is not as expected.

    ``--tags`` prints an object name per tag before anything else; ``--is-bare-repository``
    ends that list (``true``/``false`` is never an object name)."""
    try:
        out = git.run("rev-parse", "--tags", *asks, "--is-bare-repository", "--verify", "--quiet",
                      "--end-of-options", f"{ref}^{{commit}}", check=False)
    except GitError:
        return None
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tags = 0
    while tags < len(lines) and _OID.fullmatch(lines[tags]):
        tags += 1
    end = tags + len(asks)
    if len(lines) not in (end + 1, end + 2) or lines[end] not in ("true", "false"):
        return None
    head = lines[end + 1] if len(lines) == end + 2 else None
    return lines[tags:end], (head if head and _OID.fullmatch(head) else None), tags


_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _origin_config(git: Git) -> dict[str, str]:
    """``remote.origin.promisor`` and ``remote.origin.url`` (the last value of each, as
    ``git config --get`` gives it) with one ``git config``."""
    try:
        out = git.run("config", "-z", "--get-regexp", r"^remote\.origin\.(promisor|url)$", check=False)
    except GitError:
        return {}
    found: dict[str, str] = {}
    for item in out.decode("utf-8", "replace").split("\0"):
        key, _, value = item.partition("\n")
        if key:
            found[key] = value
    return found


def _resolve(git: Git, ref: str) -> str:
    out = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                  check=False).decode().strip()
    if _OID.fullmatch(out):  # SHA-1, or SHA-256 in a repository made with it
        return out
    _unresolved(git, ref)


def _resolve_counting_tags(git: Git, ref: str) -> tuple[str, int | None]:
    """The commit at ``ref`` and the number of tags, with one rev-parse."""
    facts = _rev_parse(git, ref)
    if facts is None:
        return _resolve(git, ref), None
    _, head, tags = facts
    if head is None:
        _unresolved(git, ref)
    return head, tags


def _unresolved(git: Git, ref: str) -> NoReturn:
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
            head, tags = _resolve_counting_tags(git, settings.ref)
            return Repo(git=git, head=head, ref=settings.ref, display=redact(display), partial=True,
                        tags=tags)
        try:
            git.run("fetch", "--quiet", "--prune", "--tags", "--no-recurse-submodules", "origin")
        except GitError as exc:
            notes.append(f"fetch failed, audited the cached copy: {exc}")
    elif not fetch:  # a lookup never goes to the network: no clone, nothing to look in
        raise SourceError(f"{display} is not in the cache")
    else:
        processes.remove_stale(".clone-", root)  # clones of runs killed outright (SIGKILL, OOM)
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
    head, tags = _resolve_counting_tags(git, settings.ref)
    return Repo(git=git, head=head, ref=settings.ref, display=redact(display), partial=True,
                notes=notes, tags=tags)
