"""A real Dask distributed cluster on 127.0.0.1: one ``dask scheduler`` and two ``dask worker``
processes (each under its nanny, which restarts a worker that dies), started once per test
session.

Workers import the project from this checkout (``PYTHONPATH``), the test probes included. The
scheduler gives up on a task after one worker death more than the first
(``allowed-failures: 1``), so a probe that always kills its worker costs two deaths, not four.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers._util import free_port, require, start, stop

ROOT = Path(__file__).resolve().parents[2]


def _wait_for_workers(address: str, count: int, procs, timeout: float = 90.0) -> None:
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(address, timeout=timeout, set_as_default=False) as client:
        while len(client.scheduler_info()["workers"]) < count:
            dead = [p.args for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a Dask process exited before the cluster was up: {dead}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} Dask workers did not join {address} in {timeout}s")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    """``dask://127.0.0.1:PORT`` of a running scheduler with two single-threaded workers."""
    exe = require("dask", install="pip install 'mlops-auditor[dask]'")
    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
           "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
           "PYTHONDONTWRITEBYTECODE": "1"}
    procs = [start([exe, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                    "--dashboard-address", f"127.0.0.1:{free_port()}"],
                   str(logs / "scheduler.log"), env=env, cwd=str(logs))]
    address = f"tcp://127.0.0.1:{port}"
    try:
        for i in range(2):
            procs.append(start([exe, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                "--nworkers", "1", "--no-dashboard", "--memory-limit", "0",
                                "--local-directory", str(logs / f"worker-{i}")],
                               str(logs / f"worker-{i}.log"), env=env, cwd=str(ROOT)))
        _wait_for_workers(address, 2, procs)
        yield f"dask://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            stop(proc)
