"""Worker processes on this machine: ``--jobs`` forked workers, one job at a time each.

Forked once the jobs are built and each probe class is prepared, a worker inherits the
imported probe libraries and the job list: only a job's index goes to it and only its
outcome comes back. The parent knows which job each worker holds, so

- a worker that dies (the OOM killer, a crash in a C extension) costs only its own job: it
  runs once more on a fresh worker, and a second death records it unobserved — never lost,
  never delivered twice;
- a job still running past its timeout plus :data:`GRACE` (a probe stuck in C code, which the
  in-worker timeout cannot abandon) has its worker stopped, child processes included;
- SIGTERM or SIGINT to the auditor stops every worker, and each worker kills its own child
  process groups (``git`` and what it started) on the way out.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING

from auditor import processes, startup
from auditor.executors import Job, failed, run_job

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from auditor.runner import Outcome

#: seconds past a job's own timeout before its worker is stopped
GRACE = 5.0
#: times a job whose worker died is run again
RETRIES = 1


def _serve(conn: Connection, jobs: Sequence[Job], collect_garbage: bool) -> None:
    """A worker's life: take a job index, send back what the job left, until told to stop.
    Its probes run with the cyclic collector on (``collect_garbage``) whatever the parent,
    which holds it while it only receives outcomes, has it at the fork."""
    if collect_garbage:
        gc.enable()

    def stop(signum: int, _frame: object) -> None:
        processes.shutdown()  # this worker's git (and other) children, with their groups
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    try:
        while True:
            try:
                index = conn.recv()
            except (EOFError, OSError):
                break
            if index is None:
                break
            out = run_job(jobs[index])
            conn.send((index, out.evidence, out.unobserved, out.holdings, out.timing))
    finally:
        processes.shutdown()


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    job: int | None = None
    deadline: float = 0.0


def _exit_reason(proc: BaseProcess) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def run_local(jobs: Sequence[Job], workers: int, deliver: Callable[[Job, Outcome], None]) -> None:
    """Run every job on at most ``workers`` forked processes; ``deliver`` once per job.

    The parent holds the cyclic collector meanwhile: it only hands out jobs and keeps what
    comes back, long-lived data that full collections would scan again and again as a fleet's
    outcomes pile up."""
    collect_garbage = gc.isenabled()
    with startup.collector_off():
        _run_local(jobs, workers, deliver, collect_garbage)


def _run_local(jobs: Sequence[Job], workers: int, deliver: Callable[[Job, Outcome], None],
               collect_garbage: bool) -> None:
    from auditor.runner import Outcome

    ctx = multiprocessing.get_context("fork")
    pending: deque[int] = deque(range(len(jobs)))
    deaths = [0] * len(jobs)
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    started: list[_Worker] = []

    def spawn() -> None:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, jobs, collect_garbage), daemon=True,
                           name="mlops-auditor-worker")
        proc.start()
        child.close()
        worker = _Worker(proc, parent)
        started.append(worker)
        idle.append(worker)

    def lost(worker: _Worker, reason: str, retry: bool) -> None:
        """The worker is gone with its job: run the job again, or record why it failed."""
        assert worker.job is not None
        busy.remove(worker)
        index, worker.job = worker.job, None
        deaths[index] += 1
        if retry and deaths[index] <= RETRIES:
            pending.appendleft(index)
        else:
            deliver(jobs[index], failed(jobs[index], reason))

    try:
        for _ in range(min(workers, len(jobs))):
            spawn()
        while pending or busy:
            alive = sum(w.proc.is_alive() for w in started)
            for _ in range(min(workers, len(pending) + len(busy)) - alive):
                spawn()  # a dead worker's place is taken by a fresh one
            while pending and idle:
                worker = idle.pop()
                worker.job = pending.popleft()
                worker.deadline = time.monotonic() + jobs[worker.job].timeout + GRACE
                busy.append(worker)
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(worker.job)  # a worker gone meanwhile: found below
            left = min(w.deadline for w in busy) - time.monotonic()
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                             timeout=max(0.0, left)))
            for worker in list(busy):
                if worker.conn in ready or worker.proc.sentinel in ready:
                    try:
                        index, evidence, unobserved, holdings, timing = worker.conn.recv()
                    except (EOFError, OSError):  # died before it could answer
                        worker.proc.join(5)
                        lost(worker, f"the worker process running it died ({_exit_reason(worker.proc)})",
                             retry=True)
                        _stop(worker)
                        continue
                    busy.remove(worker)
                    worker.job = None
                    idle.append(worker)
                    job = jobs[index]
                    deliver(job, Outcome(job.target, job.probe, evidence, unobserved, holdings, timing))
                elif time.monotonic() > worker.deadline:
                    timeout = jobs[worker.job].timeout if worker.job is not None else 0
                    _stop(worker)
                    lost(worker, f"timed out after {timeout:g}s (its worker process was stopped)",
                         retry=False)
            idle[:] = [w for w in idle if w.proc.is_alive()]
    finally:
        for worker in started:
            _stop(worker)


def _stop(worker: _Worker) -> None:
    """Ask a worker to end (it kills its children on SIGTERM), then make sure it did."""
    proc = worker.proc
    if proc.is_alive():
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(None)
        if worker.job is not None or not _joined(proc, 1.0):
            proc.terminate()
            if not _joined(proc, 3.0):
                proc.kill()
                proc.join(3)
    worker.conn.close()


def _joined(proc: BaseProcess, seconds: float) -> bool:
    proc.join(seconds)
    return not proc.is_alive()
