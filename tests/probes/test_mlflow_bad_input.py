"""Bad input, one test each: every case ends in a one-line reason, never an exception, and no
credential reaches any output."""

from __future__ import annotations

import json

from auditor.evidence import Strength
from tests.servers.mlflow import FORBIDDEN_TOKEN, PROXY_TOKEN

ALL_PREFIXES = {"tracking", "registry", "lineage", "schedule", "monitoring"}


def _one_line(reason: str) -> None:
    assert reason and "\n" not in reason and len(reason) <= 300


def test_unreachable_uri(mlflow_unreachable_url, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_unreachable_url, max_retries=1)
    assert got.evidence == []
    [u] = got.unobserved
    _one_line(u.reason)
    assert "unreachable" in u.reason and "connection refused" in u.reason
    assert set(u.signals) >= ALL_PREFIXES
    assert got.seconds < 15  # one retry, short back-off: no multi-minute default retry loop


def test_401_without_credentials(mlflow_stub, mlflow_collect, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    with mlflow_stub("401") as srv:
        got = mlflow_collect(srv.url)
    [u] = got.unobserved
    _one_line(u.reason)
    assert "HTTP 401" in u.reason and "MLFLOW_TRACKING_TOKEN" in u.reason
    assert got.evidence == [] and set(u.signals) >= ALL_PREFIXES


def test_401_with_a_rejected_token_never_shows_it(mlflow_stub, mlflow_collect, monkeypatch) -> None:
    secret = "mlf-rejected-Tq93Lx0Pz"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", secret)
    with mlflow_stub("401") as srv:
        got = mlflow_collect(srv.url)
        sent = list(srv.auth_headers)
    assert f"Bearer {secret}" in sent  # the token MLflow users set was used ...
    assert secret not in got.text()     # ... and appears nowhere in the output
    assert "HTTP 401" in got.unobserved[0].reason


def test_403_names_the_missing_permission(mlflow_stub, mlflow_collect) -> None:
    with mlflow_stub("403") as srv:
        got = mlflow_collect(srv.url)
    [u] = got.unobserved
    _one_line(u.reason)
    assert "HTTP 403" in u.reason and "READ permission" in u.reason


def test_403_on_the_registry_only(mlflow_servers, mlflow_stub, mlflow_collect) -> None:
    """Tracking is readable, the registry is not: runs are reported, the registry is unknown."""
    with mlflow_stub("deny_registry", upstream=mlflow_servers["production"].url) as srv:
        got = mlflow_collect(srv.url)
    sig = got.signals()
    assert "lineage.code" in sig and "registry.model_version" not in sig
    [u] = got.unobserved
    _one_line(u.reason)
    assert u.what.startswith("model registry on ") and "HTTP 403" in u.reason
    assert "registry" in u.signals and "tracking" not in u.signals


def test_auth_proxy_token_from_env_setting(mlflow_servers, mlflow_stub, mlflow_collect,
                                           monkeypatch) -> None:
    """A server behind a Bearer-token proxy: the right token reads everything and auth is
    reported as enforced; a token without read access is a 403; no token is a 401."""
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("TEAM_A_MLFLOW_TOKEN", PROXY_TOKEN)
    monkeypatch.setenv("TEAM_B_MLFLOW_TOKEN", FORBIDDEN_TOKEN)
    with mlflow_stub("auth", upstream=mlflow_servers["production"].url) as srv:
        ok = mlflow_collect(srv.url, token_env="TEAM_A_MLFLOW_TOKEN")
        forbidden = mlflow_collect(srv.url, token_env="TEAM_B_MLFLOW_TOKEN")
        anonymous = mlflow_collect(srv.url)
    assert ok.unobserved == []
    server = ok.signals()["tracking.server"][0]
    assert server.attributes["auth_enforced"] is True
    assert "registry.model_version" in ok.signals()
    assert "HTTP 403" in forbidden.unobserved[0].reason and forbidden.evidence == []
    assert "HTTP 401" in anonymous.unobserved[0].reason
    for got in (ok, forbidden, anonymous):
        assert PROXY_TOKEN not in got.text() and FORBIDDEN_TOKEN not in got.text()


def test_password_in_the_url_is_never_shown(mlflow_stub, mlflow_collect) -> None:
    with mlflow_stub("401") as srv:
        url = srv.url.replace("http://", "http://auditor:Pw-Secret-8812@")
        got = mlflow_collect(url)
    assert "Pw-Secret-8812" not in got.text()
    assert "HTTP 401" in got.unobserved[0].reason


def test_url_answering_html(mlflow_stub, mlflow_collect) -> None:
    with mlflow_stub("html") as srv:
        got = mlflow_collect(srv.url)
    [u] = got.unobserved
    _one_line(u.reason)
    assert "HTML page" in u.reason and "not an MLflow tracking server" in u.reason
    assert got.evidence == []


def test_url_answering_someone_elses_json(mlflow_stub, mlflow_collect) -> None:
    with mlflow_stub("json") as srv:
        got = mlflow_collect(srv.url)
    [u] = got.unobserved
    _one_line(u.reason)
    assert "not an MLflow tracking server" in u.reason and "JSON" in u.reason
    assert got.evidence == []


def test_empty_server_is_not_an_error(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["empty"].url)
    assert got.unobserved == []
    assert {e.signal for e in got.evidence} == {
        "tracking.server", "tracking.experiments", "tool.experiment_tracking", "tool.model_registry"}


def test_deleted_experiments_are_counted_not_sampled(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["research"].url)
    sig = got.signals()
    assert sig["tracking.experiments"][0].attributes["deleted"] == 2
    sampled = {e.attributes["experiment"] for e in sig["tracking.runs"]}
    assert not sampled & {"old-a", "old-b"}
    assert "schedule.job" not in sig  # the deleted experiments' JOB runs are not counted


def test_very_large_tag_values_stay_small(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["research"].url)
    assert got.unobserved == []
    huge = [e for e in got.evidence if e.attributes.get("experiment") == "huge-tags"]
    assert [e.signal for e in huge] == ["tracking.runs"]  # an 8,000-char "commit" is no lineage
    for ev in got.evidence:
        blob = json.dumps(ev.to_dict())
        assert len(blob) < 4000, ev.signal
        assert len(ev.excerpt) <= 400
    assert "x" * 300 not in got.text() and "u" * 300 not in got.text()


def test_server_times_out_mid_listing(mlflow_servers, mlflow_stub, mlflow_collect) -> None:
    """The proxy answers /version, the experiment list and two run searches, then stalls."""
    with mlflow_stub("stall", upstream=mlflow_servers["production"].url, stall_after=4) as srv:
        got = mlflow_collect(srv.url, request_timeout=1, max_retries=0,
                             max_runs_per_experiment=5, runs_page_size=10)
    sig = got.signals()
    assert sig["tracking.server"][0].strength == Strength.OPERATING
    assert sig["tracking.runs"]  # what was read before the stall is kept
    runs, registry = got.unobserved
    _one_line(runs.reason)
    assert "timed out" in runs.reason and runs.what.startswith("runs of ")
    assert runs.what.endswith(f"of 4 experiments on {srv.url.split('://')[1]}")
    assert "schedule" in runs.signals
    assert registry.reason.startswith("skipped:") and "registry" in registry.signals
    assert got.seconds < 10


def test_probe_timeout_bounds_every_request(mlflow_servers, mlflow_stub, mlflow_collect) -> None:
    """A stalled server and a 30 s request timeout: the probe's own deadline wins."""
    with mlflow_stub("stall", upstream=mlflow_servers["production"].url, stall_after=2) as srv:
        got = mlflow_collect(srv.url, timeout=3, request_timeout=30, max_retries=0)
    assert got.seconds < 8
    assert any("timed out" in u.reason for u in got.unobserved)
