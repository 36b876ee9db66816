"""A Dask distributed cluster: each job is one task on the scheduler at ``dask://HOST:PORT``
(``tcp://`` and ``tls://`` addresses are taken as they are).

Workers need mlops-auditor (and any plugin probe) installed, and reach the audited systems
themselves: a job carries its target's settings, credentials included, so a scheduler
reached across a network should be a ``tls://`` one. Outcomes come back as tasks finish and
are handed over and released one by one: the client never holds the fleet's evidence.

A worker that dies mid-task is the scheduler's to handle first: it runs the task again on
another worker, and after ``distributed.scheduler.allowed-failures`` deaths gives up. As a
death counts against every task the worker held, such a task then runs once more, alone; if
its worker dies again it is recorded unobserved with that reason. Each job's result is taken once, by its own key, so a
target is never lost and never counted twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from auditor.executors import ExecutorError, Job, failed, run_job
from auditor.redact import one_line

if TYPE_CHECKING:
    from auditor.runner import Outcome

#: seconds to wait for the scheduler before giving up on the run
CONNECT_TIMEOUT = 20


def address_of(executor: str) -> str:
    """``dask://host:port`` is Dask's own ``tcp://host:port``."""
    return "tcp://" + executor.removeprefix("dask://") if executor.startswith("dask://") else executor


def run_cluster(executor: str, jobs: Sequence[Job], deliver: Callable[[Job, Outcome], None]) -> None:
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
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
        suspects = _run_all(client, as_completed, KilledWorker, run, jobs, deliver)
        # A worker's death counts against every task it held, the innocent ones queued beside
        # the culprit too: each suspect runs again alone, so only its own death condemns it.
        for job in suspects:
            _run_all(client, as_completed, KilledWorker, f"{run}-alone", [job], deliver,
                     last_chance=True)


def _run_all(client, as_completed, killed, run: str, jobs: Sequence[Job],
             deliver: Callable[[Job, Outcome], None], last_chance: bool = False) -> list[Job]:
    """Submit ``jobs``, deliver each outcome as it arrives; returns the jobs whose workers
    kept dying (delivered as failed instead when this is their ``last_chance``)."""
    by_key: dict[str, Job] = {}
    futures = []
    for job in jobs:
        future = client.submit(run_job, job, key=f"mlops-auditor-{run}-{job.index}", pure=False)
        by_key[future.key] = job
        futures.append(future)
    suspects = []
    for future in as_completed(futures):
        job = by_key.pop(future.key, None)
        if job is None:  # already delivered: never twice
            continue
        try:
            out = future.result()
        except killed:
            if not last_chance:
                suspects.append(job)
                future.release()
                continue
            out = failed(job, "the Dask workers running it died, each time it was tried")
        except Exception as exc:
            out = failed(job, f"the Dask worker could not run it: {type(exc).__name__}: "
                              f"{one_line(str(exc))}")
        future.release()
        deliver(job, out)
    return suspects
