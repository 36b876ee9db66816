"""Benchmark of the MLflow probe against a real ``mlflow server`` (SQLite, loopback).

The server holds 200 experiments x 500 runs and 100 registered models x 10 versions. The
database is written once, directly through MLflow's SQLAlchemy store and bulk inserts into
the same tables (creating 100,000 runs over HTTP would take longer than the benchmark), and
kept under ``$TMPDIR/mlops-auditor-bench-mlflow`` for later runs.

Reports: wall time (median of the runs), requests made versus the minimum number of pages the
data needs with the probe's page sizes, and peak memory (tracemalloc peak of one extra run,
and the process's max RSS).

    python benchmarks/bench_mlflow.py [--runs 3] [--experiments 200] [--runs-per-experiment 500]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers._util import free_port, start, stop, wait_for_http, which  # noqa: E402

DAY_MS = 86_400_000
SHA = "0123456789abcdef0123456789abcdef01234567"


def populate(db: Path, experiments: int, runs_per: int, models: int, versions: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow.store.model_registry.dbmodels.models import (
            SqlModelVersion,
            SqlRegisteredModel,
            SqlRegisteredModelAlias,
        )
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
        from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlParam, SqlRun, SqlTag
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
        from sqlalchemy import insert

        uri = f"sqlite:///{db}"
        store = SqlAlchemyStore(uri, f"file://{db.parent}/artifacts")
        RegistryStore(uri)
    now = int(time.time() * 1000)
    from mlflow.entities import ExperimentTag

    exp_ids = [store.create_experiment(f"exp-{i:03d}", tags=[ExperimentTag("team", f"team-{i % 7}")])
               for i in range(experiments)]
    run_ids: list[str] = []
    with store.engine.begin() as conn:
        for n, eid in enumerate(exp_ids):
            runs, tags, params, metrics = [], [], [], []
            for j in range(runs_per):
                rid = uuid.uuid4().hex
                run_ids.append(rid)
                start_ms = now - (j * 3_600_000) - n * 1000
                runs.append({"run_uuid": rid, "name": f"run-{j}", "source_type": "JOB",
                             "source_name": "train.py", "entry_point_name": "", "user_id": f"user-{j % 13}",
                             "status": "FINISHED", "start_time": start_ms, "end_time": start_ms + 60_000,
                             "deleted_time": None, "source_version": SHA, "lifecycle_stage": "active",
                             "artifact_uri": f"file://{db.parent}/artifacts/{eid}/{rid}",
                             "experiment_id": int(eid)})
                src = "JOB" if j % 4 else "NOTEBOOK"
                tags += [{"key": "mlflow.source.type", "value": src, "run_uuid": rid},
                         {"key": "mlflow.user", "value": f"user-{j % 13}", "run_uuid": rid},
                         {"key": "mlflow.source.git.commit", "value": SHA, "run_uuid": rid}]
                params += [{"key": "learning_rate", "value": "0.05", "run_uuid": rid},
                           {"key": "max_depth", "value": str(j % 9), "run_uuid": rid}]
                metrics += [{"key": k, "value": 0.5, "timestamp": start_ms, "step": 0,
                             "is_nan": False, "run_uuid": rid} for k in ("auc", "psi_income")]
            conn.execute(insert(SqlRun), runs)
            conn.execute(insert(SqlTag), tags)
            conn.execute(insert(SqlParam), params)
            conn.execute(insert(SqlLatestMetric), metrics)
        regs, mvs, aliases = [], [], []
        for m in range(models):
            name = f"model-{m:03d}"
            regs.append({"workspace": "default", "name": name, "creation_time": now - 90 * DAY_MS,
                         "last_updated_time": now, "description": "bench model" if m % 2 else None})
            for v in range(1, versions + 1):
                created = now - (versions - v) * 5 * DAY_MS
                mvs.append({"workspace": "default", "name": name, "version": v, "creation_time": created,
                            "last_updated_time": created, "description": None, "user_id": "ci",
                            "current_stage": "None", "source": f"models:/{name}/{v}",
                            "storage_location": None, "run_id": run_ids[(m * versions + v) % len(run_ids)],
                            "run_link": None, "status": "READY", "status_message": None})
            aliases.append({"workspace": "default", "name": name, "alias": "champion", "version": versions - 1})
        conn.execute(insert(SqlRegisteredModel), regs)
        conn.execute(insert(SqlModelVersion), mvs)
        conn.execute(insert(SqlRegisteredModelAlias), aliases)


def collect_once(url: str, trace: bool = False) -> tuple[float, int, Counter, int, float]:
    from auditor.evidence import Evidence
    from auditor.probe import ProbeContext, Target
    from probes.mlflow import MlflowProbe, MlflowSettings

    target = Target(name="bench", kind="mlflow", settings=MlflowSettings(tracking_uri=url))
    counts: Counter = Counter()
    import requests

    original = requests.Session.send

    def counting_send(self, request, **kwargs):  # noqa: ANN001, ANN003
        counts[request.path_url.split("?")[0]] += 1
        t = time.perf_counter()
        try:
            return original(self, request, **kwargs)
        finally:
            counts["(seconds waiting for the server)"] += time.perf_counter() - t

    requests.Session.send = counting_send
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            items = list(MlflowProbe().collect(target, ProbeContext(probe="mlflow", cache_dir=Path(tmp),
                                                                   timeout=900)))
    finally:
        requests.Session.send = original
    wall = time.perf_counter() - t0
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    bad = [i for i in items if not isinstance(i, Evidence)]
    if bad:
        raise SystemExit(f"unexpected unobserved: {bad}")
    sampled = sum(i.attributes.get("sampled_runs", 0) for i in items if i.signal == "tracking.runs")
    return wall, len(items), counts, peak, sampled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--experiments", type=int, default=200)
    ap.add_argument("--runs-per-experiment", type=int, default=500)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--versions", type=int, default=10)
    args = ap.parse_args()
    exe = which("mlflow")
    if exe is None:
        raise SystemExit("mlflow is not installed")
    key = f"{args.experiments}x{args.runs_per_experiment}-{args.models}x{args.versions}"
    base = Path(tempfile.gettempdir()) / "mlops-auditor-bench-mlflow" / key
    db = base / "mlflow.db"
    if not db.exists():
        base.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        tmp_db = base / "mlflow.db.tmp"
        tmp_db.unlink(missing_ok=True)
        populate(tmp_db, args.experiments, args.runs_per_experiment, args.models, args.versions)
        tmp_db.rename(db)
        print(f"populated {key} in {time.perf_counter() - t0:.1f}s -> {db}")
    port = free_port()
    proc = start([exe, "server", "--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root",
                  str(base / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                          "--uvicorn-opts", "--timeout-graceful-shutdown 1"],
                 str(base / "server.log"), env={"MLFLOW_TRACKING_URI": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", timeout=180, ok=lambda c: c == 200, proc=proc)
        collect_once(url)  # warm-up: imports, server caches
        walls, counts, items, sampled = [], Counter(), 0, 0
        for _ in range(args.runs):
            wall, items, counts, _peak, sampled = collect_once(url)
            walls.append(wall)
        _, _, _, peak, _ = collect_once(url, trace=True)
    finally:
        stop(proc)
    from probes.mlflow.listing import EXPERIMENTS_PAGE, MODELS_PAGE
    from probes.mlflow.settings import MlflowSettings

    s = MlflowSettings(tracking_uri=url)
    n_versions = args.models * args.versions
    minimum = {
        "/version": 1,
        "/api/2.0/mlflow/experiments/search": math.ceil((args.experiments + 1) / EXPERIMENTS_PAGE),
        "/api/2.0/mlflow/runs/search": math.ceil(sampled / s.runs_page_size),
        "/api/2.0/mlflow/registered-models/search": math.ceil(args.models / MODELS_PAGE),
        "/api/2.0/mlflow/model-versions/search": math.ceil(min(n_versions, s.max_model_versions)
                                                           / min(s.max_model_versions, 10_000)),
    }
    waiting = counts.pop("(seconds waiting for the server)", 0.0)
    total, need = sum(counts.values()), sum(minimum.values())
    print(f"data: {args.experiments} experiments x {args.runs_per_experiment} runs, "
          f"{args.models} models x {args.versions} versions; runs sampled: {sampled}")
    print(f"wall time: median {statistics.median(walls):.2f}s over {len(walls)} runs "
          f"({', '.join(f'{w:.2f}' for w in walls)}); {items} evidence items; of the last run "
          f"{waiting:.2f}s waiting for the server (its SQL store builds every run)")
    print(f"requests: {total} vs minimum pages {need} (ratio {total / need:.2f}; page sizes: runs "
          f"{s.runs_page_size}, experiments {EXPERIMENTS_PAGE}, models {MODELS_PAGE})")
    for path in sorted(set(counts) | set(minimum)):
        print(f"  {path}: {counts.get(path, 0)} (minimum {minimum.get(path, 0)})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak / 2**20:.1f} MiB traced during one collect; process max RSS {rss:.0f} MiB")
    if total > 1.2 * need:
        raise SystemExit("request count exceeds 1.2x the minimum pages")


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_TRACKING_URI", "")
    main()
