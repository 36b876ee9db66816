"""The shared transport against real local HTTP servers: redirects never carry credentials to
another host, 429/5xx are retried within the deadline, bodies are capped, requests are counted,
failures are one-line shared errors, and the old setting names still work."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from auditor.errors import TimedOut, TooLarge, Unreachable, network_reason
from auditor.http import Credentials, HttpSettings, Transport
from auditor.probe import ProbeContext
from tests.servers._util import free_port, hanging_server, http_server


class Recorder(BaseHTTPRequestHandler):
    """Answers by path; records the Authorization header each request carried."""

    seen: list[tuple[str, str | None]] = []
    redirect_to = ""
    failures_left = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", Recorder.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/flaky" and Recorder.failures_left > 0:
            Recorder.failures_left -= 1
            self._send(503, b"busy")
            return
        if self.path == "/big":
            self._send(200, b"x" * 10_000)
            return
        self._send(200, b'{"ok": true}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_servers():
    Recorder.seen = []
    with http_server(Recorder) as first, http_server(Recorder) as second:
        yield first, second


def _transport(tmp_path: Path, **kw) -> Transport:
    ctx = ProbeContext(probe="t", cache_dir=tmp_path, timeout=30)
    return Transport(ctx, timeout=kw.pop("timeout", 5.0), max_bytes=kw.pop("max_bytes", 1 << 20),
                     backoff=0.05, **kw)


def test_a_redirect_to_another_host_drops_the_credentials(two_servers, tmp_path):
    first, second = two_servers
    Recorder.redirect_to = second.replace("127.0.0.1", "localhost") + "/landing"
    transport = _transport(tmp_path, follow_redirects=True)
    resp = transport.send("GET", first + "/redirect", headers={"Authorization": "Bearer s3cr3t"})
    assert resp.status == 200 and resp.history
    assert Recorder.seen == [("/redirect", "Bearer s3cr3t"), ("/landing", None)]
    assert transport.requests.count == 1  # one request asked for; the redirect is requests'


def test_redirects_are_returned_not_followed_by_default(two_servers, tmp_path):
    first, second = two_servers
    Recorder.redirect_to = second + "/landing"
    resp = _transport(tmp_path).send("GET", first + "/redirect")
    assert resp.status == 302 and [p for p, _ in Recorder.seen] == ["/redirect"]


def test_503_is_retried_with_backoff_and_counted(two_servers, tmp_path):
    first, _ = two_servers
    Recorder.failures_left = 2
    transport = _transport(tmp_path, max_retries=2)
    assert transport.send("GET", first + "/flaky").status == 200
    assert transport.requests.entries == [("GET", "/flaky")] * 3


def test_a_body_over_the_cap_is_not_read(two_servers, tmp_path):
    first, _ = two_servers
    with pytest.raises(TooLarge, match="larger than"):
        _transport(tmp_path, max_bytes=4096).send("GET", first + "/big")


def test_network_failures_are_one_line_shared_errors(tmp_path):
    with pytest.raises(Unreachable, match="is unreachable: connection refused") as refused:
        _transport(tmp_path).send("GET", f"http://127.0.0.1:{free_port()}/")
    assert refused.value.fatal and "\n" not in refused.value.reason
    with hanging_server() as url, pytest.raises(TimedOut, match="no answer within 1s"):
        _transport(tmp_path, timeout=1.0).send("GET", url + "/")
    assert network_reason(ConnectionRefusedError(111, "Connection refused")) == "connection refused"


def test_old_setting_names_still_work_with_a_deprecation_message(caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("mlops_auditor"), "propagate", True)  # CLI runs unset it

    class S(HttpSettings):
        alertmanager_token_env: str | None = None

    with caplog.at_level(logging.WARNING, logger="mlops_auditor.config"):
        s = S.model_validate({"bearer_token_env": "TOKEN", "ca_bundle": "/etc/ca.pem",
                              "alertmanager_bearer_token_env": "AM"})
    assert (s.token_env, s.ca_file, s.alertmanager_token_env) == ("TOKEN", "/etc/ca.pem", "AM")
    assert "'bearer_token_env' is deprecated" in caplog.text


def test_credentials_come_from_named_variables_and_are_secrets(monkeypatch):
    from auditor.redact import redact

    monkeypatch.setenv("T_USER", "auditor")
    monkeypatch.setenv("T_PASS", "pw-that-is-long-9f3")
    creds, notes = Credentials.from_env(None, "T_USER", "T_PASS")
    assert creds is not None and notes == [] and creds.header.startswith("Basic ")
    assert "pw-that-is-long-9f3" not in redact("login pw-that-is-long-9f3")
    none, notes = Credentials.from_env("T_MISSING", None, None)
    assert none is None and notes == ["environment variable T_MISSING (token_env) is not set"]
