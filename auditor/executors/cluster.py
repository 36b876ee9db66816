"""A Dask distributed cluster: jobs run as tasks on the scheduler at ``dask://HOST:PORT``
(``tcp://`` and ``tls://`` addresses are taken as they are), a few jobs to a task
(:func:`batch_size`).

Workers need mlops-auditor (and any plugin probe) installed, and reach the audited systems
themselves: a job carries its target's settings, credentials included, so a scheduler
reached across a network should be a ``tls://`` one. Outcomes are handed over as each task
finishes and released from the cluster at once.

A worker that dies mid-task is the scheduler's to handle first: it runs the task again on
another worker, and after ``distributed.scheduler.allowed-failures`` deaths gives up. As a
death counts against every task the worker held, each job of such a task then runs once
more, alone; a job whose worker dies again is recorded unobserved with that reason. Each
task's result is taken once, by a key naming its jobs, so a target is never lost and never
counted twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from auditor.executors import ExecutorError, Job, failed, run_job
from auditor.redact import one_line

if TYPE_CHECKING:
    from auditor.runner import Outcome

#: seconds to wait for the scheduler before giving up on the run
CONNECT_TIMEOUT = 20
#: most jobs one task runs (see :func:`batch_size`)
MAX_BATCH = 25


def address_of(executor: str) -> str:
    """``dask://host:port`` is Dask's own ``tcp://host:port``."""
    return "tcp://" + executor.removeprefix("dask://") if executor.startswith("dask://") else executor


def run_cluster(executor: str, jobs: Sequence[Job], deliver: Callable[[Job, Outcome], None]) -> None:
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError("the Dask executor needs the distributed package: "
                            "pip install 'mlops-auditor[dask]'") from None
    address = address_of(executor)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: "
                            f"{one_line(str(exc)) or type(exc).__name__}") from None
    run = uuid.uuid4().hex[:12]
    with client, client.as_current():  # as_completed works with the current client
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        size = batch_size(len(jobs), threads)
        batches = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
        suspects = _run_all(client, run, batches, deliver)
        # A worker's death counts against every task it held, the innocent ones queued beside
        # the culprit too: each suspect job runs again alone, so only its own death condemns it.
        for job in suspects:
            _run_all(client, f"{run}-alone", [[job]], deliver, last_chance=True)


def batch_size(jobs: int, threads: int) -> int:
    """Jobs per task: about four tasks per worker thread, at most :data:`MAX_BATCH` jobs
    each. A task costs the scheduler a round trip, which would dominate a small repository's
    few milliseconds; a few tasks per thread still spread uneven jobs over the workers."""
    return max(1, min(MAX_BATCH, jobs // (4 * max(threads, 1))))


def run_batch(jobs: Sequence[Job]) -> list[Outcome]:
    """One task: its jobs one after the other, in the worker."""
    return [run_job(job) for job in jobs]


def _run_all(client, run: str, batches: Sequence[Sequence[Job]],
             deliver: Callable[[Job, Outcome], None], last_chance: bool = False) -> list[Job]:
    """Submit one task per batch and deliver each outcome as its task finishes, with the
    caller's own target and probe (the worker's are copies); returns the jobs of tasks whose
    workers kept dying (delivered as failed instead when this is their ``last_chance``)."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    by_key: dict[str, list[Job]] = {}
    futures = []
    for batch in batches:  # a key names its jobs: Dask answers a known key from its cache
        future = client.submit(run_batch, batch, pure=False,
                               key=f"mlops-auditor-{run}-{batch[0].index}-{batch[-1].index}")
        by_key[future.key] = batch
        futures.append(future)
    suspects: list[Job] = []
    for future in as_completed(futures):
        batch = by_key.pop(future.key, None)
        if batch is None:  # already delivered: never twice
            continue
        try:
            outcomes = future.result()
        except KilledWorker:
            if not last_chance:
                suspects += batch
                future.release()
                continue
            outcomes = [failed(job, "the Dask workers running it died, each time it was tried")
                        for job in batch]
        except Exception as exc:
            outcomes = [failed(job, f"the Dask worker could not run it: {type(exc).__name__}: "
                                    f"{one_line(str(exc))}") for job in batch]
        future.release()
        for job, out in zip(batch, outcomes, strict=True):
            deliver(job, replace(out, target=job.target, probe=job.probe))
    return suspects
