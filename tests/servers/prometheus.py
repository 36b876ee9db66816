"""Session fixture: Debian's ``prometheus`` and ``prometheus-alertmanager`` on free ports on
127.0.0.1, scraping a small exporter (model-serving and drift metrics) started in a thread.

Prometheus requires basic auth (``--web.config.file``), loads real rule files (model quality,
data quality, operational, and a bulk file of 1500 trivial rules), and sends alerts to the
Alertmanager, whose webhook receivers include pipeline triggers. The fixture waits until
everything the tests read has settled (:func:`_wait_until_settled`): every rule loaded and
evaluated, the drift alert firing, both scrape targets judged, the exporter's series stored
and the Alertmanager attached — so no test depends on how fast a loaded machine is.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.servers._util import free_port, require, start, stop, wait_for_http

PROM_USER = "auditor"
PROM_PASSWORD = "prom-Test-pass-7d1e"
#: bcrypt (cost 4, cheap per request) of PROM_PASSWORD, made with crypt(3)
PROM_PASSWORD_BCRYPT = "$2b$04$43jz/ph2DIrVJFZFO3rCU.7oKP7fo4B9.G/9/VoeaX49kycN7NR1O"
GITLAB_TRIGGER_TOKEN = "glptt-0123456789abcdef0123"
SLACK_SECRET = "XyZ9abcDEF0123456789ghij"
BULK_RULES = 1500

EXPORTER_METRICS = """\
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="churn-classifier",version="3"} 1200
nv_inference_request_failure{model="churn-classifier",version="3"} 4
nv_inference_request_duration_us{model="churn-classifier",version="3"} 53000
# TYPE request_predict_seconds summary
request_predict_seconds_count{model_name="fraud-detector"} 77
request_predict_seconds_sum{model_name="fraud-detector"} 3.2
seldon_api_executor_server_requests_seconds_count{deployment_name="credit-scoring",model_name="credit-clf"} 12
# TYPE model_feature_drift_psi gauge
model_feature_drift_psi{model="churn-classifier",feature="tenure"} 0.31
model_feature_drift_psi{model="churn-classifier",feature="monthly_charges"} 0.05
model_accuracy{model="churn-classifier"} 0.91
feature_null_rate{model="churn-classifier",feature="tenure"} 0.01
model_prediction_mean{model="churn-classifier"} 0.42
http_request_duration_seconds_bucket{le="0.1"} 10
http_request_duration_seconds_bucket{le="+Inf"} 12
"""

MODEL_RULES = """\
groups:
  - name: model-quality
    rules:
      - alert: ChurnModelFeatureDrift
        # max_over_time: a missed scrape (a busy test machine) must not resolve the alert
        expr: max by (model) (max_over_time(model_feature_drift_psi[10m])) > 0.2
        labels: {severity: warning, team: ml}
        annotations: {summary: "Feature drift (PSI) above 0.2"}
      - alert: ModelAccuracyLow
        expr: model_accuracy < 0.8
        labels: {severity: page}
      - alert: PredictionDistributionShift
        expr: abs(model_prediction_mean - 0.5) > 0.3
      - record: model:feature_drift_psi:max
        expr: max by (model) (model_feature_drift_psi)
  - name: data-quality
    rules:
      - alert: FeatureNullRateHigh
        expr: feature_null_rate > 0.05
        labels: {severity: ticket}
"""

OPS_RULES = """\
groups:
  - name: serving-slo
    rules:
      - alert: InferenceLatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
      - alert: InferenceErrorsHigh
        expr: sum(rate(nv_inference_request_failure[5m])) / sum(rate(nv_inference_request_success[5m])) > 0.05
      - alert: ScrapeTargetDown
        expr: up == 0
        labels: {severity: ticket}
      - record: job:up:sum
        expr: sum by (job) (up)
"""


def bulk_rules(count: int, per_group: int = 100, interval: str = "1h") -> str:
    """``count`` trivial recording rules (neither model nor operational), evaluated rarely."""
    lines = ["groups:"]
    for start_index in range(0, count, per_group):
        lines += [f"  - name: bulk-{start_index // per_group:04d}", f"    interval: {interval}",
                  "    rules:"]
        for i in range(start_index, min(count, start_index + per_group)):
            lines += [f"      - record: bulk:series_{i}:value", f"        expr: vector({i})"]
    return "\n".join(lines) + "\n"


def alertmanager_config(exporter: str) -> str:
    return f"""\
route:
  receiver: default
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['alertname=~".*Drift.*"']
      receiver: retrain-argo
      continue: true
    - matchers: ['severity="retrain-now"']
      receiver: gitlab-retrain
    - match: {{severity: page}}
      receiver: oncall
receivers:
  - name: default
    webhook_configs: [{{url: "http://{exporter}/alerts"}}]
  - name: retrain-argo
    webhook_configs: [{{url: "http://{exporter}/api/v1/events/ml/retrain-churn"}}]
  - name: gitlab-retrain
    webhook_configs:
      - url: "https://gitlab.example.com/api/v4/projects/42/ref/main/trigger/pipeline?token={GITLAB_TRIGGER_TOKEN}"
  - name: github-dispatch
    webhook_configs: [{{url: "https://api.github.com/repos/acme/churn/dispatches"}}]
  - name: oncall
    slack_configs:
      - api_url: "https://hooks.slack.com/services/T0000/B0000/{SLACK_SECRET}"
        channel: "#oncall"
"""


class _Exporter(BaseHTTPRequestHandler):
    """/metrics for Prometheus; POSTs (Alertmanager webhooks) are recorded."""

    received: list[tuple[str, dict]] = []

    def do_GET(self) -> None:  # noqa: N802
        body = EXPORTER_METRICS.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            payload = {}
        self.received.append((self.path, payload))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class PrometheusServer:
    url: str
    proc: object
    workdir: Path
    auth_header: str | None = None

    def _open(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path)
        if self.auth_header:
            request.add_header("Authorization", self.auth_header)
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.read()

    def wait_ready(self, timeout: float = 60) -> None:
        """/-/ready behind basic auth (the listener answers 401 before it is ready)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._open("/-/ready")
                return
            except OSError:  # 503 while starting, or refused
                time.sleep(0.2)
        raise RuntimeError(f"{self.url} not ready within {timeout}s")

    def query(self, expr: str) -> list:
        body = self._open(f"/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        return json.loads(body)["data"]["result"]

    def stop(self) -> None:
        stop(self.proc)


def start_prometheus(workdir: Path, rule_files: dict[str, str], scrape_targets: list[str],
                     alertmanager: str | None = None, basic_auth: bool = False,
                     scrape_interval: str = "1s") -> PrometheusServer:
    """Prometheus with these rule files on a free port; waits until it is ready."""
    binary = require("prometheus", install="apt-get install prometheus")
    rules_dir = workdir / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rule_files.items():
        (rules_dir / name).write_text(text)
    scrape = [{"job_name": f"job{i}", "static_configs": [{"targets": [t]}]}
              for i, t in enumerate(scrape_targets)]
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": "1s",
                   "external_labels": {"cluster": "ci"}},
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": scrape,
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    (workdir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    cmd = [binary, f"--config.file={workdir / 'prometheus.yml'}",
           f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"]
    auth_header = None
    if basic_auth:
        (workdir / "web.yml").write_text(
            f'basic_auth_users:\n  {PROM_USER}: "{PROM_PASSWORD_BCRYPT}"\n')
        cmd.append(f"--web.config.file={workdir / 'web.yml'}")
        auth_header = "Basic " + base64.b64encode(f"{PROM_USER}:{PROM_PASSWORD}".encode()).decode()
    proc = start(cmd, str(workdir / "prometheus.log"))
    url = f"http://127.0.0.1:{port}"
    server = PrometheusServer(url, proc, workdir, auth_header)
    try:
        wait_for_http(f"{url}/-/ready", timeout=60, proc=proc, ok=lambda c: c in (200, 401))
        server.wait_ready()
    except RuntimeError:
        stop(proc)
        raise
    return server


@dataclass
class PrometheusStack:
    prometheus: PrometheusServer
    alertmanager_url: str
    exporter: str
    webhooks: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.prometheus.url


def _api(server: PrometheusServer, path: str, **params: str) -> object:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return json.loads(server._open(path + query))["data"]


def _settled(server: PrometheusServer, rules: int) -> list[str]:
    """What the tests read that is not there yet (empty: everything is)."""
    missing: list[str] = []
    groups = _api(server, "/api/v1/rules")["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    if len(loaded) < rules:
        missing.append(f"rules loaded: {len(loaded)} of {rules}")
    named = [r for r in loaded if not r["name"].startswith("bulk:")]
    if any(r.get("health") != "ok" or str(r.get("lastEvaluation", "")).startswith("0001")
           for r in named):
        missing.append("model and operational rules evaluated")
    if not server.query('ALERTS{alertname="ChurnModelFeatureDrift",alertstate="firing"}'):
        missing.append("ChurnModelFeatureDrift firing")
    health = sorted(t.get("health") for t in _api(server, "/api/v1/targets")["activeTargets"])
    if health != ["down", "up"]:
        missing.append(f"scrape targets judged (up and down): {health}")
    for metric in ("model_feature_drift_psi", "nv_inference_request_success",
                   "request_predict_seconds_count",
                   "seldon_api_executor_server_requests_seconds_count", "feature_null_rate"):
        if not server.query(metric):
            missing.append(f"series {metric} stored")
    if len(_api(server, "/api/v1/alertmanagers")["activeAlertmanagers"]) != 1:
        missing.append("the Alertmanager attached")
    return missing


def _wait_until_settled(server: PrometheusServer, rules: int, timeout: float = 180) -> None:
    """Wait until every fact the tests read is there; say which one is not, on timeout."""
    deadline = time.monotonic() + timeout
    missing: list[str] = ["nothing asked yet"]
    while time.monotonic() < deadline:
        try:
            missing = _settled(server, rules)
        except (OSError, KeyError, ValueError) as exc:
            missing = [f"API not answering: {exc}"]
        if not missing:
            return
        time.sleep(0.3)
    raise RuntimeError(f"Prometheus did not settle within {timeout}s: {'; '.join(missing)}")


@pytest.fixture(scope="session")
def prometheus_stack() -> Iterator[PrometheusStack]:
    am_binary = require("prometheus-alertmanager", "alertmanager",
                        install="apt-get install prometheus-alertmanager")
    require("prometheus", install="apt-get install prometheus")
    workdir = Path(tempfile.mkdtemp(prefix="prom-fixture-"))
    _Exporter.received = []
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    exporter_addr = f"127.0.0.1:{exporter.server_address[1]}"
    am_port = free_port()
    (workdir / "alertmanager.yml").write_text(alertmanager_config(exporter_addr))
    am = start([am_binary, f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
               str(workdir / "alertmanager.log"))
    prom: PrometheusServer | None = None
    try:
        wait_for_http(f"http://127.0.0.1:{am_port}/-/ready", timeout=60, proc=am)
        prom = start_prometheus(
            workdir / "prom",
            {"bulk.yml": bulk_rules(BULK_RULES), "model.yml": MODEL_RULES, "ops.yml": OPS_RULES},
            [exporter_addr, f"127.0.0.1:{free_port()}"],  # the second one is down
            alertmanager=f"127.0.0.1:{am_port}", basic_auth=True)
        _wait_until_settled(prom, BULK_RULES + 9)
        yield PrometheusStack(prom, f"http://127.0.0.1:{am_port}", exporter_addr,
                              _Exporter.received)
    finally:
        if prom is not None:
            prom.stop()
        stop(am)
        exporter.shutdown()
        exporter.server_close()
        shutil.rmtree(workdir, ignore_errors=True)
