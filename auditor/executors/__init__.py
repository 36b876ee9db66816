"""Where collection runs: threads in this process, worker processes on this machine, or a
Dask cluster.

The unit is a :class:`Job`: one target's probe (first pass or link resolution), with
everything a worker needs to run it anywhere — the target and its settings, the probe, the
clock, the policy, and the secrets to mask. :func:`run_job` runs one in whatever process
holds it and returns its :class:`~auditor.runner.Outcome`; each executor only decides where
jobs run and hands every outcome back exactly once, in the order they finish:

- ``threads``: one process, ``--jobs`` threads (probes that wait on the network);
- ``processes``: ``--jobs`` forked worker processes (:mod:`auditor.executors.local`), so
  CPU-bound probes (git) use every core instead of queueing on the GIL;
- ``dask://HOST:PORT`` (or ``tls://``): a Dask distributed scheduler
  (:mod:`auditor.executors.cluster`), for fleets larger than one machine.

``auto`` (the default) is ``processes`` when more than one job may run at once and there is
more than one target, on a platform that can fork; otherwise ``threads``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.probe import Policy, Probe, ProbeContext, Target

if TYPE_CHECKING:
    from auditor.runner import Outcome, Task

#: a probe's work on one target: ``collect`` or a link resolution (picklable: module-level
#: functions or :func:`functools.partial` of them, so any executor can ship it)
Work = Callable[[Probe, Target, ProbeContext], Any]

KINDS = ("auto", "threads", "processes")


class ExecutorError(Exception):
    """The executor cannot run at all (unknown name, Dask not installed, scheduler down);
    one line for the user."""


@dataclass(frozen=True)
class Job:
    index: int
    target: Target
    probe: Probe
    work: Work
    cache_dir: Path
    policy: Policy
    now: datetime
    timeout: float
    holdings: bool = False
    #: values the redactor masks (``${VAR}`` expansions, credentials in URLs): a worker in
    #: another process registers them before running, so its evidence is masked alike
    secrets: tuple[str, ...] = ()
    #: targets of this job's probe in the run (:attr:`ProbeContext.fleet`)
    fleet: int = 1

    def task(self) -> Task:
        """The runner's task for this job, with a fresh context (a context holds an event
        and a logger: it is made where the job runs, never shipped)."""
        from auditor.runner import Task

        ctx = ProbeContext(probe=self.probe.kind, cache_dir=self.cache_dir, policy=self.policy,
                           now=self.now, timeout=self.timeout, holdings=self.holdings,
                           fleet=self.fleet)
        return Task(self.target, self.probe, self.work, ctx)


def run_job(job: Job) -> Outcome:
    """Run one job to its end in this process (its timeout applies; a probe that ignores it
    is abandoned) and return what it left. The function every executor's workers call."""
    from auditor import redact
    from auditor.runner import outcome, run_tasks

    for value in job.secrets:
        redact.register_secret(value)
    task = job.task()
    run_tasks([task], 1)
    return outcome(task)


def failed(job: Job, reason: str) -> Outcome:
    """The outcome of a job whose worker could not return one (it died, or was killed after
    overrunning its time): every signal of its probe unobserved, with the reason."""
    from auditor.runner import outcome

    task = job.task()
    task.error = reason
    return outcome(task)


def resolve(executor: str | None, jobs: int, count: int) -> str:
    """The executor to use: ``threads``, ``processes`` or a Dask address."""
    name = (executor or "auto").strip()
    if name.startswith(("dask://", "tcp://", "tls://")):
        return name
    if name not in KINDS:
        raise ExecutorError(f"unknown executor {name!r}: use auto, threads, processes or "
                            f"dask://HOST:PORT")
    if name == "auto":
        return "processes" if jobs > 1 and count > 1 and _can_fork() else "threads"
    if name == "processes" and not _can_fork():
        raise ExecutorError("the processes executor needs a platform that can fork")
    return name


def _can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "darwin"  # macOS: fork is unsafe with its frameworks


def execute(executor: str, jobs: Sequence[Job], workers: int,
            deliver: Callable[[Job, Outcome], None]) -> None:
    """Run ``jobs`` on ``executor`` (``processes`` or a Dask address); ``deliver`` is called
    once per job, in this thread, as each finishes, with outcomes carrying the caller's own
    target and probe objects."""
    if executor == "processes":
        from auditor.executors.local import run_local

        run_local(jobs, workers, deliver)
    else:
        from auditor.executors.cluster import run_cluster

        run_cluster(executor, jobs, deliver)
