"""Child processes that die with their probe and with the audit.

Every child runs in its own process group (``start_new_session``), so what it starts in turn
(``git`` starts ``git-remote-http``, ``ssh`` ...) can be killed with it: on its timeout, when
its probe is cancelled, and on SIGTERM/SIGINT to the auditor (:func:`shutdown`). Temporary
folders a probe is filling (a clone in progress) are registered here too and removed on
shutdown, so an interrupted run leaves nothing half-written in the cache.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

#: how often a waiting call looks at its probe's remaining time (a cancelled probe has none)
POLL_SECONDS = 0.25

_lock = threading.Lock()
_live: dict[int, subprocess.Popen] = {}
_temp_dirs: set[str] = set()
_stopping = threading.Event()


class Stopping(Exception):
    """The audit is shutting down: no new child process is started."""


def popen(argv: Sequence[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` in a new process group, registered until :func:`release`."""
    with _lock:
        if _stopping.is_set():
            raise Stopping("the audit is stopping")
        proc = subprocess.Popen(list(argv), start_new_session=True, **kwargs)
        _live[proc.pid] = proc
    return proc


def release(proc: subprocess.Popen) -> None:
    """Forget a child; one still running is killed with its whole group first."""
    kill_group(proc)
    with _lock:
        _live.pop(proc.pid, None)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to the child's process group while the child is unreaped (so the group id
    cannot have been reused), then reap it. SIGKILL cannot be caught: a grandchild
    (``git-remote-http``) stops the moment it is scheduled, so nothing writes afterwards."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(timeout=5)


def run(argv: Sequence[str], *, input: bytes | None, env: dict[str, str],
        remaining: Callable[[], float]) -> tuple[int, bytes, bytes]:
    """Run to completion: (returncode, stdout, stderr). Raises ``subprocess.TimeoutExpired``
    once ``remaining()`` reaches zero (its probe timed out or was cancelled), after killing
    the child's process group."""
    proc = popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        pending = input
        while True:
            left = remaining()
            if left <= 0:
                raise subprocess.TimeoutExpired(list(argv), 0)
            try:
                out, err = proc.communicate(pending, timeout=min(POLL_SECONDS, left))
                return proc.returncode, out, err
            except subprocess.TimeoutExpired:
                pending = None  # communicate() keeps feeding what it started with
    finally:
        release(proc)


@contextlib.contextmanager
def temporary_dir(prefix: str, parent: Path) -> Iterator[str]:
    """A folder removed on exit from the block unless kept (``os.replace`` moved it away),
    and on :func:`shutdown` if the audit stops while it is in use."""
    path = os.path.realpath(tempfile.mkdtemp(prefix=prefix, dir=parent))
    with _lock:
        _temp_dirs.add(path)
    try:
        yield path
    finally:
        with _lock:
            _temp_dirs.discard(path)
        shutil.rmtree(path, ignore_errors=True)


def live() -> list[int]:
    """Process ids of the children still registered (tests, diagnostics)."""
    with _lock:
        return sorted(_live)


def shutdown() -> None:
    """Kill every registered child's process group and remove every temporary folder in
    use. Called from the signal handler; after it no new child starts."""
    _stopping.set()
    # from a signal handler the main thread may itself hold the lock: do not wait for ever
    locked = _lock.acquire(timeout=2)
    try:
        procs = list(_live.values())
        dirs = list(_temp_dirs)
    finally:
        if locked:
            _lock.release()
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            proc.wait(timeout=5)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


# A probe abandoned after its timeout may still hold a child or a folder when the audit ends:
# its daemon thread never gets to clean up, so the interpreter does it on the way out.
atexit.register(shutdown)


def reset() -> None:
    """Allow children again after a :func:`shutdown` (tests running several audits)."""
    _stopping.clear()
