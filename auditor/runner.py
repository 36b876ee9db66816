"""Runs probes over targets concurrently, with a timeout per probe and error isolation.

A probe that raises or overruns its time becomes an ``Unobserved`` record with the reason;
what it yielded before that is kept. Worker threads are daemons: a probe stuck in a call
that ignores its timeout cannot hold the audit hostage.

Before any thread starts, each probe class is prepared once (its heavy imports), under a
lock. While probes run, SIGTERM and SIGINT stop the audit cleanly: every child process
group is killed, temporary folders are removed, and the process exits with 128 + the
signal number, leaving reports and history as they were.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor import processes
from auditor.evidence import Evidence, Holdings, Unobserved
from auditor.probe import Policy, Probe, ProbeCancelled, ProbeContext, Target
from auditor.redact import one_line

log = logging.getLogger("mlops_auditor.runner")


@dataclass
class Task:
    """One probe's work on one target, run in its own thread: what it yielded so far, its timing
    and its error."""

    target: Target
    probe: Probe
    work: Callable[[Probe, Target, ProbeContext], Any]
    ctx: ProbeContext
    items: list[Evidence | Unobserved] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    error: str | None = None
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class RunResult:
    """What :func:`run_probes` gives back, in the order of the pairs it was given."""

    evidence: list[Evidence] = field(default_factory=list)
    unobserved: list[Unobserved] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    holdings: list[Holdings] = field(default_factory=list)
    #: where the work ran: ``threads``, ``processes`` or a Dask address
    executor: str = "threads"


@dataclass
class Outcome:
    """One finished task: what it yielded, its failure as an Unobserved, its timing."""

    target: Target
    probe: Probe
    evidence: list[Evidence]
    unobserved: list[Unobserved]
    holdings: list[Holdings]
    timing: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.timing["status"] == "error"


def outcome(task: Task) -> Outcome:
    """What a finished (or abandoned) task leaves: its items sorted by type, its error as an
    ``Unobserved`` covering every signal of the probe, and its timing."""
    out = Outcome(task.target, task.probe, [], [], [], {})
    for item in task.items:
        if isinstance(item, Evidence):
            out.evidence.append(item)
        elif isinstance(item, Holdings):
            out.holdings.append(item)
        else:
            out.unobserved.append(item)
    if task.error:
        out.unobserved.append(Unobserved(
            target=task.target.name, probe=task.probe.kind, what=task.target.kind,
            reason=one_line(task.error), signals=tuple(task.probe.signals)))
    out.timing = {
        "target": task.target.name, "probe": task.probe.kind,
        "seconds": round(max(0.0, task.finished - task.started), 3),
        "evidence": len(out.evidence),
        "status": "error" if task.error else "ok",
    }
    return out


class _NotPrepared(Exception):
    pass


def default_jobs() -> int:
    return os.cpu_count() or 2


_prepare_lock = threading.Lock()
#: probe class -> why it could not be prepared (None: ready); kept for the process's life
_prepared: dict[type, str | None] = {}


def prepare(probe: Probe) -> str | None:
    """Prepare ``probe``'s class once (see :meth:`Probe.prepare`); the failure, one line."""
    cls = type(probe)
    with _prepare_lock:
        if cls not in _prepared:
            try:
                probe.prepare()
                _prepared[cls] = None
            except Exception as exc:
                log.debug("probe %s could not be prepared", probe.kind, exc_info=True)
                _prepared[cls] = (f"cannot load the {probe.kind} probe's libraries: "
                                  f"{type(exc).__name__}: {exc}")
        return _prepared[cls]


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM/SIGINT while probes run: kill child process groups, remove temporary folders,
    exit with 128 + signal. Only the main thread can take signals; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        processes.shutdown()
        name = signal.Signals(signum).name
        print(f"mlops-auditor: stopped by {name}; no report written", file=sys.stderr)
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _work(task: Task, results: queue.Queue) -> None:
    task.started = time.monotonic()
    task.ctx.started = task.started
    try:
        problem = prepare(task.probe)  # already done by run_probes; a no-op but for direct use
        if problem:
            raise _NotPrepared(problem)
        for item in task.work(task.probe, task.target, task.ctx):
            with task.lock:
                if task.done:  # abandoned after its timeout
                    return
                task.items.append(item)
            task.ctx.check()
    except (ProbeCancelled, _NotPrepared) as exc:
        task.error = str(exc)
    except Exception as exc:  # isolation: one probe never aborts the audit
        log.debug("probe %s failed on %s", task.probe.kind, task.target.name, exc_info=True)
        task.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    task.finished = time.monotonic()
    results.put(task)


def run_tasks(tasks: Sequence[Task], jobs: int, on_done: Callable[[Task], None] | None = None) -> None:
    """Run tasks with at most ``jobs`` at once; overrun tasks are abandoned at their timeout."""
    pending = list(tasks)
    running: list[Task] = []
    results: queue.Queue[Task] = queue.Queue()

    def launch() -> None:
        while pending and len(running) < jobs:
            task = pending.pop(0)
            task.started = time.monotonic()
            running.append(task)
            threading.Thread(target=_work, args=(task, results), daemon=True,
                             name=f"probe-{task.probe.kind}-{task.target.name}").start()

    def finish(task: Task, timed_out: bool = False) -> None:
        """Mark done once (a late result of an abandoned task is ignored), free its slot."""
        with task.lock:
            if task.done:
                return
            task.done = True
        if timed_out:
            task.ctx.cancel.set()
            task.error = f"timed out after {task.ctx.timeout:g}s"
            task.finished = time.monotonic()
        running.remove(task)
        if on_done:
            on_done(task)
        launch()

    def deadline(task: Task) -> float:
        return task.started + task.ctx.timeout + 0.5

    launch()
    while running:
        wait = min(deadline(t) for t in running) - time.monotonic()
        try:
            finish(results.get(timeout=max(0.05, wait)))
        except queue.Empty:
            now = time.monotonic()
            for task in [t for t in running if now > deadline(t)]:
                finish(task, timed_out=True)


def collect(probe: Probe, target: Target, ctx: ProbeContext):
    # settings can be Undiscovered (a discovery that failed: nothing to read) only where
    # auditor.discovery was imported: a run without discovery does not import it for this
    discovery = sys.modules.get("auditor.discovery")
    if discovery is not None and isinstance(target.settings, discovery.Undiscovered):
        target.settings.fail()
    return probe.collect(target, ctx)


def run_probes(
    pairs: Sequence[tuple[Target, Probe]],
    *,
    cache_dir: Path,
    policy: Policy,
    jobs: int | None = None,
    default_timeout: float = 300.0,
    work: Callable[[Probe, Target, ProbeContext], Any] = collect,
    on_done: Callable[[Outcome], None] | None = None,
    now: datetime | None = None,
    holdings: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    executor: str | None = "threads",
) -> RunResult:
    """Run ``work`` for every (target, probe) pair. ``holdings`` asks probes to yield what
    their targets hold (see :class:`~auditor.probe.ProbeContext`). With ``on_outcome``, each
    task's outcome is handed over as soon as it finishes and not kept (the result then holds
    only where the work ran), so a fleet's evidence never sits in memory at once. ``executor``: where the
    work runs (see :mod:`auditor.executors`; ``auto`` picks processes or threads)."""
    from auditor import executors, redact, startup

    now = now or datetime.now(UTC)
    jobs = jobs or default_jobs()
    fleet = Counter(probe.kind for _, probe in pairs)
    runs = [executors.Job(i, target, probe, work, cache_dir, policy, now,
                          target.timeout or default_timeout, holdings, redact.registered(),
                          fleet[probe.kind])
            for i, (target, probe) in enumerate(pairs)]
    where = executors.resolve(executor, jobs, len(runs))
    for probe in {type(p): p for _, p in pairs}.values():
        prepare(probe)  # heavy imports, once, before any probe thread or worker starts
    startup.release_gc()  # start-up is over (the collector is held by the CLI until now)
    outcomes: dict[int, Outcome | None] = {}

    def done(index: int, out: Outcome) -> None:
        if index in outcomes:
            return  # never twice, whatever an executor does
        if on_done:
            on_done(out)
        if on_outcome is not None:
            on_outcome(out)
            outcomes[index] = None  # handed over: only that it came is kept
        else:
            outcomes[index] = out

    with stop_on_signals():
        if where == "threads":
            tasks = [r.task() for r in runs]
            index = {id(t): i for i, t in enumerate(tasks)}

            def finished(task: Task) -> None:
                out = outcome(task)
                task.items = []  # handed over; an abandoned task appends nothing more (task.done)
                done(index[id(task)], out)

            run_tasks(tasks, jobs, finished)
        else:
            executors.execute(where, runs, jobs, lambda job, out: done(job.index, out))
    startup.hold_after_probes()  # what follows builds the assessment (see auditor.startup)
    result = RunResult(executor=where)
    for i in range(len(runs)):  # in the order given, whatever order they finished in
        out = outcomes[i]
        if out is None:
            continue
        result.evidence += out.evidence
        result.unobserved += out.unobserved
        result.holdings += out.holdings
        result.timings.append(out.timing)
    return result
