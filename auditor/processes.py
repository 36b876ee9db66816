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
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
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
    the child's process group.

    The wait itself blocks in the kernel (``communicate`` without a timeout): a timeout makes
    ``Popen`` poll for the exit with sleeps, which cost a fleet of small repositories about a
    millisecond of idle per git call. The deadline is kept by :func:`_watchdog` instead."""
    proc = popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        if remaining() <= 0:
            raise subprocess.TimeoutExpired(list(argv), 0)
        _watch(proc, remaining)
        try:
            out, err = proc.communicate(input)
        finally:
            expired = _unwatch(proc)
        if expired:
            raise subprocess.TimeoutExpired(list(argv), 0)
        return proc.returncode, out, err
    finally:
        release(proc)


def wait_exit(proc: subprocess.Popen, timeout: float) -> None:
    """Wait up to ``timeout`` for ``proc`` to exit. ``Popen.wait(timeout)`` polls with sleeps
    that double from 1 ms (a git exiting right away costs a few ms of sleeping); a pidfd
    wakes as soon as the process is gone."""
    if proc.poll() is not None:
        return
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or already reaped
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if poller.poll(timeout * 1000):
            proc.wait()  # exited: reaps at once
    finally:
        os.close(fd)


#: children waited on by :func:`run`, with their probe's clock (pid -> (child, remaining))
_deadlines: dict[int, tuple[subprocess.Popen, Callable[[], float]]] = {}
#: children the watchdog killed (their run raises TimeoutExpired)
_expired: set[int] = set()
#: the process whose watchdog thread is running (a forked child has none until it starts one)
_watchdog_pid: int | None = None


def _watch(proc: subprocess.Popen, remaining: Callable[[], float]) -> None:
    global _watchdog_pid
    with _lock:
        _deadlines[proc.pid] = (proc, remaining)
        if _watchdog_pid != os.getpid():
            _watchdog_pid = os.getpid()
            threading.Thread(target=_watchdog, daemon=True, name="process-watchdog").start()


def _unwatch(proc: subprocess.Popen) -> bool:
    """Stop watching ``proc``; whether the watchdog killed it."""
    with _lock:
        _deadlines.pop(proc.pid, None)
        if proc.pid in _expired:
            _expired.discard(proc.pid)
            return True
        return False


def _watchdog() -> None:
    """Every :data:`POLL_SECONDS`, kill the process group of each watched child whose probe
    has no time left; its :func:`run` then raises. A child is killed only while it is
    watched and unreaped (``returncode`` unset), as ``Popen.send_signal`` does."""
    while True:
        time.sleep(POLL_SECONDS)
        with _lock:
            for pid, (proc, remaining) in list(_deadlines.items()):
                if proc.returncode is None and remaining() <= 0:
                    _expired.add(pid)
                    del _deadlines[pid]
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)


def _after_fork_in_child() -> None:
    """A forked worker starts with none of its parent's children, folders or watchdog, and
    a lock no other thread holds (the parent's threads do not exist in it)."""
    global _lock, _watchdog_pid
    _lock = threading.Lock()
    _live.clear()
    _temp_dirs.clear()
    _deadlines.clear()
    _expired.clear()
    _watchdog_pid = None


os.register_at_fork(after_in_child=_after_fork_in_child)


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


#: a temporary folder left this long is an orphan: its run was killed (SIGKILL, OOM) before
#: it could remove it (no clone or fetch runs for a day)
STALE_SECONDS = 24 * 3600
_swept: set[tuple[str, str]] = set()


def remove_stale(prefix: str, parent: Path) -> list[str]:
    """Remove ``parent``'s ``prefix*`` folders older than :data:`STALE_SECONDS`, once per
    process: what :func:`temporary_dir` left behind when its process was killed outright.
    Returns the folders removed."""
    key = (str(parent), prefix)
    with _lock:
        if key in _swept:
            return []
        _swept.add(key)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue  # the cache's own clones: not even looked at
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if old and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
        except OSError:
            continue
    return removed


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
