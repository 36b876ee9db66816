"""Real ``mlflow server`` processes (SQLite backend, 127.0.0.1, free ports) for the MLflow probe.

Three servers start together, once per test session, and are stopped at its end:

* ``empty``      — nothing logged.
* ``research``   — two people's notebook runs, no registry (and some mess, below).
* ``production`` — scheduled training with git lineage and dataset inputs, monitoring jobs
  logging drift/bias/validation metrics, a tuning sweep, GPU metrics, two teams, registered
  models with aliases, an approval tag and a version without a source run. The runs cite a
  commit of a real git repository made here with gitpython (``git_repo`` / ``commit_sha``).

The research server also holds the mess research servers collect: deleted experiments and
runs with 8,000-character tag values. Each database is filled through ``MlflowClient``
(SQL store) before its server starts, so the three servers start in parallel. Small in-test HTTP servers stand in
for what a real MLflow cannot be made to do: an auth proxy (401/403), a proxy that stalls
after N requests, an HTML page and someone else's JSON API.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers._util import free_port, huge_json_body, require, start, stop, wait_for_http

DAY_MS = 86_400_000
SCENARIOS = ("empty", "research", "production")
PROXY_TOKEN = "mlf-tok-Vb7Qs2Kd9Lw4"
FORBIDDEN_TOKEN = "mlf-tok-NoRead-Zx81"


@dataclass
class MlflowServer:
    name: str
    url: str
    facts: dict[str, Any] = field(default_factory=dict)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _make_repo(path: Path) -> str:
    import git

    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Trainer")
        cw.set_value("user", "email", "trainer@example.com")
    (path / "train.py").write_text("import mlflow\n\nmlflow.autolog()\n")
    (path / "requirements.txt").write_text("mlflow==3.5.0\nscikit-learn==1.5.0\n")
    repo.index.add(["train.py", "requirements.txt"])
    return repo.index.commit("Train the churn model").hexsha


def _populate_research(c: Any, art: str) -> dict[str, Any]:
    """Two people's notebook runs, plus the mess research servers collect: deleted
    experiments and runs with 8,000-character tag values."""
    from mlflow.entities import Metric, Param

    now = _now_ms()
    for user in ("alice", "bob"):
        exp = c.create_experiment(f"{user}-notebooks", artifact_location=f"{art}/{user}")
        for i in range(6):
            run = c.create_run(exp, start_time=now - (i + 1) * DAY_MS, tags={
                "mlflow.source.type": "NOTEBOOK", "mlflow.user": user,
                "mlflow.source.name": f"/Users/{user}/explore.ipynb"})
            metrics = [Metric("accuracy", 0.8 + i / 100, now, 0)]
            if user == "alice" and i == 0:
                metrics.append(Metric("demographic_parity_difference", 0.04, now, 0))
            c.log_batch(run.info.run_id, metrics=metrics, params=[Param("max_depth", str(3 + i))])
            c.set_terminated(run.info.run_id, end_time=now - (i + 1) * DAY_MS + 60_000)
    deleted = []
    for name in ("old-a", "old-b"):
        exp = c.create_experiment(name, artifact_location=f"{art}/{name}")
        c.create_run(exp, start_time=now - DAY_MS, tags={"mlflow.source.type": "JOB"})
        c.delete_experiment(exp)
        deleted.append(exp)
    big = "x" * 8000
    huge = c.create_experiment("huge-tags", artifact_location=f"{art}/huge", tags={
        "team": "t" * 8000, "mlflow.note.content": "n" * 8000})
    for i in range(3):
        c.create_run(huge, start_time=now - (i + 10) * DAY_MS, tags={
            "mlflow.source.type": "NOTEBOOK", "mlflow.source.git.commit": "f" * 8000,
            "mlflow.source.git.repoURL": "https://example.com/" + big[:7900],
            "mlflow.user": "u" * 8000, "note": big, "mlflow.loggedArtifacts": big})
    return {"deleted": deleted, "huge": huge}


def _populate_production(c: Any, art: str, sha: str) -> dict[str, Any]:
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

    now = _now_ms()
    job = {"mlflow.source.type": "JOB", "mlflow.user": "ci-bot",
           "mlflow.source.git.commit": sha,
           "mlflow.source.git.repoURL": "https://git.example.com/risk/churn.git"}
    train = c.create_experiment("churn-training", artifact_location=f"{art}/train", tags={
        "team": "risk", "mlflow.note.content": "Weekly churn model training"})
    train_runs = []
    for i in range(8):
        run = c.create_run(train, start_time=now - (i * 7 + 1) * DAY_MS, tags=job)
        rid = run.info.run_id
        ds = Dataset(name="churn-features", digest=f"d{i:05d}", source_type="s3",
                     source='{"uri": "s3://features/churn.parquet"}')
        c.log_inputs(rid, datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "training")])])
        c.log_batch(rid, metrics=[Metric("auc", 0.85, now, 0),
                                  Metric("system/gpu_utilization_percentage", 71.0, now, 0)],
                    params=[Param("learning_rate", "0.05")])
        c.set_terminated(rid)
        train_runs.append(rid)
    parent = c.create_run(train, start_time=now - 2 * DAY_MS, tags={**job, "mlflow.runName": "sweep"})
    for j in range(3):
        child = c.create_run(train, start_time=now - 2 * DAY_MS + j, tags={
            **job, "mlflow.parentRunId": parent.info.run_id})
        c.log_batch(child.info.run_id, params=[Param("max_depth", str(j + 2))])
    monitor = c.create_experiment("churn-monitoring", artifact_location=f"{art}/monitor",
                                  tags={"team": "risk"})
    for day in range(10):
        run = c.create_run(monitor, start_time=now - day * DAY_MS - 3_600_000, tags=job)
        c.log_batch(run.info.run_id, metrics=[
            Metric("psi_tenure", 0.08, now, 0), Metric("ks_stat_income", 0.12, now, 0),
            Metric("demographic_parity_ratio", 0.93, now, 0), Metric("shap_mean_abs", 0.3, now, 0),
            Metric("data_quality_null_fraction", 0.001, now, 0),
            Metric("example_count", 5000, now, 0), Metric("validation_passed", 1, now, 0)],
            tags=[RunTag("mlflow.loggedArtifacts",
                         '[{"path": "eval_results_table.json", "type": "table"}]')])
        c.set_terminated(run.info.run_id)
    fraud = c.create_experiment("fraud-training", artifact_location=f"{art}/fraud", tags={
        "team": "fraud", "mlflow.note.content": "Fraud model"})
    for i in range(3):
        run = c.create_run(fraud, start_time=now - (i + 1) * DAY_MS,
                           tags={**job, "mlflow.user": "fraud-bot"})
        c.log_batch(run.info.run_id, metrics=[Metric("recall", 0.7, now, 0)])
        c.set_terminated(run.info.run_id)

    c.create_registered_model("churn", tags={"team": "risk"}, description="Predicts churn")
    for rid in train_runs[:3]:
        c.create_model_version("churn", f"runs:/{rid}/model", run_id=rid)
    c.set_registered_model_alias("churn", "champion", "2")
    c.set_registered_model_alias("churn", "challenger", "3")
    c.set_model_version_tag("churn", "2", "approved_by", "risk-lead")
    c.create_registered_model("fraud", tags={"team": "fraud"})
    c.create_model_version("fraud", f"runs:/{train_runs[3]}/model", run_id=train_runs[3])
    c.create_model_version("fraud", "s3://models/fraud/manual-upload")  # no source run
    c.set_registered_model_alias("fraud", "production", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stages are deprecated in favour of aliases
        c.transition_model_version_stage("fraud", "1", "Production")
    return {"train_runs": train_runs, "experiments": {"churn-training": train,
            "churn-monitoring": monitor, "fraud-training": fraud}}


def _template_db(path: Path) -> None:
    """An MLflow database with every migration applied, copied for each server so that
    migrations run once per session rather than once per server."""
    uri = f"sqlite:///{path}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy deprecations inside MLflow, at import
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(uri, f"file://{path.parent}/artifacts")
        RegistryStore(uri)


def _populate(name: str, db: Path, sha: str) -> dict[str, Any]:
    """Fill a scenario's database through MlflowClient before its server starts."""
    from mlflow import MlflowClient

    if name == "empty":
        return {}
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri, registry_uri=uri)
    art = f"file://{db.parent}/artifacts"
    if name == "research":
        return _populate_research(client, art)
    return _populate_production(client, art, sha)


@pytest.fixture(scope="session")
def mlflow_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, MlflowServer]]:
    """The scenario servers, populated, started in parallel, stopped at session end."""
    exe = require("mlflow", install="pip install -e '.[test]'")
    base = tmp_path_factory.mktemp("mlflow")
    repo = base / "repo"
    repo.mkdir()
    sha = _make_repo(repo)
    template = base / "template.db"
    _template_db(template)
    procs: list[Any] = []
    servers: dict[str, tuple[MlflowServer, Any]] = {}
    try:
        for name in SCENARIOS:
            d = base / name
            d.mkdir()
            shutil.copyfile(template, d / "mlflow.db")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                facts = _populate(name, d / "mlflow.db", sha)
            facts.update(repo=str(repo), commit=sha)
            port = free_port()
            proc = start([exe, "server", "--backend-store-uri", f"sqlite:///{d}/mlflow.db",
                          "--default-artifact-root", str(d / "artifacts"), "--host", "127.0.0.1",
                          "--port", str(port), "--workers", "1",
                          "--uvicorn-opts", "--timeout-graceful-shutdown 1"],
                         str(d / "server.log"), env={"MLFLOW_TRACKING_URI": ""})
            procs.append(proc)
            servers[name] = (MlflowServer(name, f"http://127.0.0.1:{port}", facts), proc)
        for srv, proc in servers.values():
            wait_for_http(f"{srv.url}/health", timeout=120, ok=lambda c: c == 200, proc=proc)
        yield {name: srv for name, (srv, _) in servers.items()}
    finally:
        for proc in procs:  # signal all first: they shut down in parallel
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            stop(proc)


# ---- stand-ins for what a real MLflow server will not do -----------------------------------

class _Handler(BaseHTTPRequestHandler):
    server: _StubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.count += 1
            n = srv.count
            srv.auth_headers.append(self.headers.get("Authorization"))
        mode = srv.mode
        if mode == "html":
            return self._reply(200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
        if mode == "json":
            return self._reply(200, b'{"status": "ok", "service": "inventory", "items": []}',
                               "application/json")
        if mode in ("401", "403"):
            return self._reply(int(mode), b'{"error": "denied"}', "application/json")
        if mode == "auth":
            auth = self.headers.get("Authorization") or ""
            if not auth:
                return self._reply(401, b"Unauthorized", "text/plain")
            if auth != f"Bearer {PROXY_TOKEN}":
                return self._reply(403, b'{"error_code": "PERMISSION_DENIED"}', "application/json")
        if mode == "deny_registry" and ("registered-models" in self.path or "model-versions" in self.path):
            return self._reply(403, b'{"error_code": "PERMISSION_DENIED"}', "application/json")
        if mode == "stall" and n > srv.stall_after:
            srv.release.wait(30)
            return None
        if mode == "endless" and "/search" in self.path:  # always ask upstream for page one
            if body:
                doc = json.loads(body)
                doc.pop("page_token", None)
                body = json.dumps(doc).encode()
            path, _, query = self.path.partition("?")
            kept = [p for p in query.split("&") if p and not p.startswith("page_token=")]
            self.path = path + ("?" + "&".join(kept) if kept else "")
        if mode == "huge_runs" and "runs/search" in self.path:
            return self._reply_stream(huge_json_body(srv.huge_bytes, (b'{"runs": [], "x": "', b'"}')))
        self._forward(body)

    def _reply_stream(self, chunks: Iterator[bytes]) -> None:
        """An answer of unknown length, sent as it is produced (chunked encoding)."""
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading: that is the point
            pass
        self.close_connection = True

    def _forward(self, body: bytes) -> None:
        srv = self.server
        conn = http.client.HTTPConnection(srv.upstream_host, srv.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "authorization", "connection", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if self.server.mode == "endless" and "/search" in self.path and resp.status == 200:
            doc = json.loads(data or b"{}")
            doc["next_page_token"] = "c2FtZS1wYWdlLWFnYWlu"  # the same next page, forever
            data = json.dumps(doc).encode()
        self._reply(resp.status, data, resp.getheader("Content-Type") or "application/json")

    do_GET = do_POST = _handle  # noqa: N815


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str, upstream: str | None, stall_after: int,
                 huge_bytes: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.stall_after, self.huge_bytes = mode, stall_after, huge_bytes
        self.count = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.auth_headers: list[str | None] = []
        if upstream:
            hostport = upstream.split("://", 1)[1]
            host, port = hostport.split(":")
            self.upstream_host, self.upstream_port = host, int(port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def stub_server(mode: str, upstream: str | None = None, stall_after: int = 0,
                huge_bytes: int = 0) -> Iterator[_StubServer]:
    """``html`` | ``json`` | ``401`` | ``403`` | ``auth`` (Bearer proxy) | ``deny_registry``
    (proxy answering 403 to registry calls) | ``stall`` (proxy that stops answering after
    ``stall_after`` requests) | ``endless`` (proxy whose every search answer names the same
    next page) | ``huge_runs`` (proxy answering runs/search with ``huge_bytes`` of JSON)."""
    srv = _StubServer(mode, upstream, stall_after, huge_bytes)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def mlflow_stub():
    """Factory for the in-test stand-ins: ``with mlflow_stub("html") as srv: srv.url``."""
    return stub_server


@pytest.fixture(scope="session")
def mlflow_unreachable_url() -> str:
    """A loopback port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Collected:
    evidence: list[Any]
    unobserved: list[Any]
    seconds: float

    def signals(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for ev in self.evidence:
            out.setdefault(ev.signal, []).append(ev)
        return out

    def text(self) -> str:
        """Everything a report could show, for checks that no secret leaks."""
        import json

        return json.dumps([e.to_dict() for e in self.evidence] + [u.to_dict() for u in self.unobserved],
                          default=str)


@pytest.fixture
def mlflow_collect(tmp_path: Path):
    """``mlflow_collect(url, **settings)`` runs the probe on one target and returns Collected."""
    def run(url: str, name: str = "mlf", timeout: float = 60.0, **settings: Any) -> Collected:
        from auditor.probe import ProbeContext, Target
        from probes.mlflow import MlflowProbe, MlflowSettings

        target = Target(name=name, kind="mlflow", labels={"team": "ml"},
                        settings=MlflowSettings(tracking_uri=url, **settings))
        ctx = ProbeContext(probe="mlflow", cache_dir=tmp_path, timeout=timeout)
        t0 = time.monotonic()
        items = list(MlflowProbe().collect(target, ctx))
        from auditor.evidence import Evidence

        return Collected([i for i in items if isinstance(i, Evidence)],
                         [i for i in items if not isinstance(i, Evidence)], time.monotonic() - t0)

    return run
