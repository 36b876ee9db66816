"""Running git safely: no hooks, no filters, no prompts, no repository-configured programs,
no credential helpers.

Every command goes through :class:`Git`, which pins configuration that could make git run
something from the audited repository (hooks, fsmonitor, signature programs, pagers) or
from the user's configuration (credential helpers, which would *store* a password given in a
clone URL and *erase* the user's stored login when a target refuses one), and bounds each
call by the probe's remaining time. Each git runs in its own process group
(:mod:`auditor.processes`): on a timeout, a cancelled probe or SIGTERM the whole group dies,
``git-remote-http`` included.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from auditor import processes
from auditor.redact import one_line

#: configuration pinned on every call (``-c`` wins over repository config)
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.untrackedCache", "false"),
    ("safe.directory", "*"),
    ("log.showSignature", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("protocol.ext.allow", "never"),
    ("core.pager", "cat"),
    ("color.ui", "false"),
    ("grep.fallbackToNoIndex", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("submodule.recurse", "false"),
    # an empty helper clears the list from every other config file: git neither reads, stores
    # nor erases the user's credentials (credential.<url>.helper included)
    ("credential.helper", ""),
    ("credential.interactive", "never"),
    ("core.askPass", ""),
)


class GitError(Exception):
    """A git command failed; the message is one redacted line."""


#: ``-c key=value`` for every pinned setting, built once
_SAFE_ARGS: tuple[str, ...] = tuple(arg for key, value in SAFE_CONFIG for arg in ("-c", f"{key}={value}"))

#: set on every call, whatever the inherited environment says
_FIXED_ENV: dict[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",
    # empty: no askpass program at all (also overrides core.askPass), and with prompts
    # disabled git fails with "could not read Username" instead of asking anyone
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "SSH_ASKPASS_REQUIRE": "never",
    "GCM_INTERACTIVE": "never",
    "GIT_PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    # ssh: never ask for a host key or password
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
}

_base_lock = threading.Lock()
_base_source: object = None
_base_env_cache: dict[str, str] = {}


def _base_env() -> dict[str, str]:
    """The inherited environment without ``GIT_*``/``SSH_ASKPASS*``, plus :data:`_FIXED_ENV`.
    Built once per process and again only when ``os.environ`` changed (a test setting HOME):
    the check compares the interpreter's own copy of the environment, a C-level dict compare."""
    global _base_source, _base_env_cache
    raw = getattr(os.environ, "_data", None)  # CPython's encoded environment
    with _base_lock:
        if raw is None or raw != _base_source:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_ASKPASS"))}
            env.update(_FIXED_ENV)
            _base_env_cache, _base_source = env, (dict(raw) if raw is not None else None)
        return _base_env_cache


def _env(extra_config: Sequence[tuple[str, str]] = (), ceiling: str | None = None) -> dict[str, str]:
    env = dict(_base_env())
    if ceiling:
        env["GIT_CEILING_DIRECTORIES"] = ceiling
    # credentials go through the environment, never argv (visible in ps) or files on disk
    if extra_config:
        env["GIT_CONFIG_COUNT"] = str(len(extra_config))
        for i, (key, value) in enumerate(extra_config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


class Git:
    """git bound to one repository directory (a work tree or a bare repository)."""

    #: git processes started by this Python process (read by the benchmark)
    spawned: int = 0

    def __init__(self, repo_dir: Path | str, remaining: Callable[[], float] = lambda: 300.0,
                 extra_config: Sequence[tuple[str, str]] = (), ceiling: str | None = None) -> None:
        self.dir = str(repo_dir)
        self.remaining = remaining
        self.env = _env(extra_config, ceiling)
        self._prefix = ("git", "--no-pager", "-C", self.dir, *_SAFE_ARGS)

    def argv(self, *args: str) -> list[str]:
        return [*self._prefix, *args]

    def timeout(self) -> float:
        left = self.remaining()
        if left <= 0:
            raise GitError("no time left for git")
        return left

    def run(self, *args: str, input: bytes | None = None, check: bool = True,
            ok_codes: Iterable[int] = (0,)) -> bytes:
        _counted()
        self.timeout()  # no time left: fail before starting anything
        try:
            code, out, err = processes.run(self.argv(*args), input=input, env=self.env,
                                           remaining=self.remaining)
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} timed out") from None
        except processes.Stopping:
            raise GitError("the audit is stopping") from None
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None
        if check and code not in tuple(ok_codes):
            raise GitError(describe_failure(args[0], err))
        return out

    def text(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).decode("utf-8", "replace")

    def popen(self, *args: str, stdin: int | None = None) -> subprocess.Popen:
        """A long-running git (``cat-file --batch``) in its own process group; give it back
        with :func:`auditor.processes.release`."""
        _counted()
        try:
            return processes.popen(self.argv(*args), stdin=stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=self.env)
        except processes.Stopping:
            raise GitError("the audit is stopping") from None


_spawned_lock = threading.Lock()


def _counted() -> None:
    """One more git process (the greps and the history start theirs from other threads)."""
    with _spawned_lock:
        Git.spawned += 1


def describe_failure(command: str, stderr: bytes) -> str:
    """The most telling line of git's stderr, redacted."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    line = (fatal or lines or [f"git {command} failed"])[-1]
    return one_line(line.removeprefix("fatal: ").removeprefix("error: "), 240)


class BlobReader:
    """One ``git cat-file --batch`` process for every blob read (no filters, no textconv)."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self.proc: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        """The running process, started now if it is not (a read starts it otherwise)."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self.git.popen("cat-file", "--batch", stdin=subprocess.PIPE)
        return self.proc

    def read(self, oid: str) -> bytes | None:
        proc = self.start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(oid.encode() + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline()
        if not header:
            raise GitError("git cat-file stopped")
        parts = header.split()
        if len(parts) < 3 or parts[1] == b"missing":
            return None
        size = int(parts[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # trailing newline
        return data

    def read_many(self, oids: list[str], chunk: int = 1000) -> dict[str, bytes | None]:
        """Pipelined reads: requests are written a chunk at a time (a chunk of object names
        fits in the pipe buffer, so writing never waits for our own reading)."""
        out: dict[str, bytes | None] = {}
        proc = self.start()
        assert proc.stdin is not None and proc.stdout is not None
        for i in range(0, len(oids), chunk):
            part = oids[i:i + chunk]
            proc.stdin.write(b"".join(o.encode() + b"\n" for o in part))
            proc.stdin.flush()
            for oid in part:
                header = proc.stdout.readline()
                if not header:
                    raise GitError("git cat-file stopped")
                fields = header.split()
                if len(fields) < 3 or fields[1] == b"missing":
                    out[oid] = None
                    continue
                data = proc.stdout.read(int(fields[2]))
                proc.stdout.read(1)
                out[oid] = data
        return out

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin:
                self.proc.stdin.close()
            processes.wait_exit(self.proc, 5)
            processes.release(self.proc)  # kills the group if it is still running
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
            self.proc = None

