"""Worker processes on this machine: the same assessment as threads; a worker that dies costs
one retry, then an unobserved record, never a lost or doubled target; a worker that hangs
whole is stopped; SIGTERM stops workers and their git children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor import executors
from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from auditor.executors import local
from tests.repos import make_stage2_repo, make_stage6_repo
from tests.servers._util import hanging_server
from tests.support import marked_processes, terminate, wait_until
from tests.test_placements import normalise

pytestmark = pytest.mark.usefixtures("test_plugin")
NOW = datetime.now(UTC)


def facts(name: str, **kw) -> object:
    return build_target({"name": name, "kind": "facts",
                         "facts": [{"signal": "vcs.repository", "strength": "operating"}], **kw})


def _audit(targets, tmp_path, executor, jobs=2):
    return run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "cache", now=NOW,
                     jobs=jobs, executor=executor)


def test_processes_give_the_assessment_threads_give(tmp_path):
    repos = [make_stage2_repo(tmp_path / "r2"), make_stage6_repo(tmp_path / "r6")]
    targets = [build_target({"name": f"repo-{i}", "kind": "git", "path": str(p),
                             "labels": {"team": "risk"}}) for i, p in enumerate(repos)]
    targets.append(facts("svc", labels={"team": "risk"}))
    threads = _audit(targets, tmp_path, "threads")
    procs = _audit(targets, tmp_path, "processes")
    assert procs["run"]["executor"] == "processes" and threads["run"]["executor"] == "threads"
    assert normalise(procs, tmp_path) == normalise(threads, tmp_path)
    assert [t["target"] for t in procs["probes"]] == ["repo-0", "repo-1", "svc"]


def test_auto_uses_processes_only_when_work_can_run_side_by_side():
    assert executors.resolve(None, 2, 10) == "processes"
    assert executors.resolve("auto", 1, 10) == "threads"
    assert executors.resolve("auto", 4, 1) == "threads"
    assert executors.resolve("threads", 4, 10) == "threads"
    assert executors.resolve("dask://sched:8786", 4, 10) == "dask://sched:8786"
    with pytest.raises(executors.ExecutorError, match="unknown executor 'fork'"):
        executors.resolve("fork", 2, 2)


def test_a_worker_killed_once_costs_a_retry_and_nothing_else(tmp_path):
    marker = tmp_path / "crashed-once"
    targets = [facts("victim", crash=f"once:{marker}"), *(facts(f"ok-{i}") for i in range(3))]
    a = _audit(targets, tmp_path, "processes")
    assert marker.exists()  # the first attempt did die
    assert a["unobserved"] == []
    assert sorted(e["target"] for e in a["evidence"]) == ["ok-0", "ok-1", "ok-2", "victim"]
    assert {t["name"]: t["status"] for t in a["targets"]}["victim"] == "ok"


def test_a_worker_killed_every_time_is_reported_once_and_the_rest_goes_on(tmp_path):
    targets = [facts("doomed", crash="always"), *(facts(f"ok-{i}") for i in range(3))]
    a = _audit(targets, tmp_path, "processes")
    (u,) = a["unobserved"]
    assert u["target"] == "doomed"
    assert u["reason"] == "the worker process running it died (killed by SIGKILL)"
    assert sorted(e["target"] for e in a["evidence"]) == ["ok-0", "ok-1", "ok-2"]
    statuses = {t["name"]: t["status"] for t in a["targets"]}
    assert statuses == {"doomed": "error", "ok-0": "ok", "ok-1": "ok", "ok-2": "ok"}
    assert sorted(t["target"] for t in a["probes"]) == ["doomed", "ok-0", "ok-1", "ok-2"]


def test_a_worker_that_hangs_whole_is_stopped_after_its_timeout(tmp_path, monkeypatch):
    """SIGSTOP freezes the worker, so the timeout inside it never fires: the parent stops it
    once the job's time and the grace have passed, and the other targets finish."""
    monkeypatch.setattr(local, "GRACE", 0.5)
    targets = [facts("frozen", crash="stop", timeout=1), facts("ok-0"), facts("ok-1")]
    t0 = time.monotonic()
    a = _audit(targets, tmp_path, "processes")
    assert time.monotonic() - t0 < 20
    (u,) = a["unobserved"]
    assert u["target"] == "frozen" and u["reason"] == "timed out after 1s (its worker process was stopped)"
    assert sorted(e["target"] for e in a["evidence"]) == ["ok-0", "ok-1"]


def test_a_probe_ignoring_its_timeout_is_abandoned_inside_its_worker(tmp_path):
    hang = build_target({"name": "stuck", "kind": "hang", "timeout": 0.5})
    t0 = time.monotonic()
    a = _audit([hang, facts("ok")], tmp_path, "processes")
    assert time.monotonic() - t0 < 10
    assert any(u["target"] == "stuck" and u["reason"] == "timed out after 0.5s" for u in a["unobserved"])
    assert {e["target"] for e in a["evidence"]} == {"stuck", "ok"}


def test_sigterm_stops_every_worker_and_its_git(tmp_path):
    marker = f"MLA_TEST_MARKER_{os.getpid()}_workers"
    cache = tmp_path / "cache"
    with hanging_server() as url:
        config = tmp_path / "audit.yaml"
        config.write_text("targets:\n" + "".join(
            f"  - {{name: repo-{i}, kind: git, url: '{url}/r{i}.git'}}\n" for i in range(2)))
        proc = subprocess.Popen(
            [sys.executable, "-c", "from auditor.cli import main; main()", "audit", "-q",
             "--config", str(config), "--out", str(tmp_path / "out"), "--cache-dir", str(cache),
             "--jobs", "2", "--executor", "processes"],
            env={**os.environ, marker: "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=Path(__file__).parents[2])
        # the auditor, two workers, and a git clone (with its git-remote-http) in each
        started = wait_until(lambda: len(marked_processes(marker)) >= 7, 60)
        seen = marked_processes(marker)
        err = terminate(proc)
        assert started, (seen, err)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert err.splitlines() == ["mlops-auditor: stopped by SIGTERM; no report written"]
        assert wait_until(lambda: not marked_processes(marker)), marked_processes(marker)
    assert not list((cache / "git").glob(".clone-*"))
    assert not (tmp_path / "out").exists()
