"""Bad input for the Prometheus probe: each one a test. The probe always completes, with
one-line reasons in ``unobserved`` and no credential in any output."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from auditor.evidence import Unobserved
from probes.prometheus import ALL_SIGNALS
from tests.servers._util import free_port, hanging_server, http_server
from tests.servers.prometheus import PROM_PASSWORD, PROM_USER

from .test_prometheus import ENV, authed, by_signal, collect, dump

TOKEN = "s3cr3t-bearer-0123456789abcdef"


@contextlib.contextmanager
def serve(respond: Callable[[BaseHTTPRequestHandler], tuple[int, str, bytes, dict]]) -> Iterator[str]:
    """A throwaway HTTP server on 127.0.0.1 answering every GET with ``respond(handler)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            code, content_type, body, headers = respond(self)
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


def only_reason(unobserved: list[Unobserved]) -> Unobserved:
    assert len(unobserved) == 1, unobserved
    [item] = unobserved
    assert "\n" not in item.reason and len(item.reason) < 300
    assert set(item.signals) == set(ALL_SIGNALS)  # the engine says unknown, never unmet
    return item


def test_url_serving_html_is_not_prometheus(tmp_path, monkeypatch):
    monkeypatch.setenv("MLA_TOKEN", TOKEN)
    html = b"<html><body><form>Sign in</form></body></html>"
    with serve(lambda h: (200, "text/html; charset=utf-8", html, {})) as url:
        evidence, unobserved, _ = collect({"url": url, "bearer_token_env": "MLA_TOKEN"}, tmp_path)
    assert evidence == []
    item = only_reason(unobserved)
    assert "text/html" in item.reason and "not JSON" in item.reason
    assert TOKEN not in dump(unobserved)


def test_url_serving_other_json_is_not_prometheus(tmp_path, monkeypatch):
    """The server even echoes the Authorization header: it must not reach the output."""
    monkeypatch.setenv("MLA_TOKEN", TOKEN)

    def echo(handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, dict]:
        body = json.dumps({"service": "billing", "you_sent": handler.headers.get("Authorization")})
        return 200, "application/json", body.encode(), {}

    with serve(echo) as url:
        evidence, unobserved, _ = collect({"url": url, "bearer_token_env": "MLA_TOKEN"}, tmp_path)
    assert evidence == []
    item = only_reason(unobserved)
    assert "not a Prometheus API" in item.reason
    assert TOKEN not in dump(unobserved)


def test_url_of_another_real_server_is_not_prometheus(prometheus_stack, tmp_path):
    evidence, unobserved, _ = collect({"url": prometheus_stack.alertmanager_url}, tmp_path)
    assert evidence == []
    assert "not a Prometheus API" in only_reason(unobserved).reason


def test_redirect_to_a_login_page_is_reported_not_followed(tmp_path, monkeypatch):
    monkeypatch.setenv("MLA_TOKEN", TOKEN)
    seen: list[str | None] = []

    def redirect(handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, dict]:
        seen.append(handler.path)
        return 302, "text/html", b"", {"Location": "https://sso.example.com/login?next=/api"}

    with serve(redirect) as url:
        evidence, unobserved, _ = collect({"url": url, "token_env": "MLA_TOKEN"}, tmp_path)
    assert evidence == []
    assert "redirected (302) to sso.example.com/login" in only_reason(unobserved).reason
    assert len(seen) == 1


def test_server_that_hangs_times_out(tmp_path):
    with hanging_server() as url:
        started = time.monotonic()
        evidence, unobserved, _ = collect({"url": url, "request_timeout": 1}, tmp_path)
        elapsed = time.monotonic() - started
    assert evidence == []
    assert "no answer within 1s" in only_reason(unobserved).reason
    assert elapsed < 5  # one call, then stop: not one timeout per endpoint


def test_unreachable_url(tmp_path):
    evidence, unobserved, _ = collect({"url": f"http://127.0.0.1:{free_port()}"}, tmp_path)
    assert evidence == []
    assert only_reason(unobserved).reason.endswith("is unreachable: connection refused")


def test_unresolvable_host(tmp_path):
    evidence, unobserved, _ = collect({"url": "http://prometheus.invalid:9090"}, tmp_path)
    assert evidence == []
    assert "unreachable" in only_reason(unobserved).reason


def test_401_without_credentials_names_the_fix(prometheus_stack, tmp_path):
    evidence, unobserved, _ = collect({"url": prometheus_stack.url}, tmp_path)
    assert evidence == []
    reason = only_reason(unobserved).reason
    assert "401 Unauthorized" in reason and "set token_env" in reason


def test_401_with_wrong_password_does_not_print_it(prometheus_stack, tmp_path, monkeypatch):
    monkeypatch.setenv("MLA_PROM_USER", PROM_USER)
    monkeypatch.setenv("MLA_PROM_PASSWORD", "wrong-Password-123")
    evidence, unobserved, _ = collect(authed(prometheus_stack), tmp_path)
    assert evidence == []
    assert "refused the configured login" in only_reason(unobserved).reason
    assert "wrong-Password-123" not in dump(unobserved)


def test_password_in_the_url_is_used_and_never_printed(prometheus_stack, tmp_path):
    url = prometheus_stack.url.replace("http://", f"http://{PROM_USER}:{PROM_PASSWORD}@")
    evidence, unobserved, _ = collect({"url": url}, tmp_path)
    assert by_signal(evidence, "tool.monitoring")
    assert PROM_PASSWORD not in dump(evidence, unobserved)


def test_alertmanager_that_hangs_leaves_prometheus_evidence(prometheus_stack, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with hanging_server() as am_url:
        evidence, unobserved, _ = collect(
            authed(prometheus_stack, alertmanager_url=am_url, request_timeout=1), tmp_path)
    [am] = [u for u in unobserved if u.what.startswith("Alertmanager")]
    assert "no answer within 1s" in am.reason
    assert set(am.signals) == {"monitoring.alert_routing", "remediation.trigger"}
    assert by_signal(evidence, "monitoring.model_rule")  # the rest of the audit completed
    assert not by_signal(evidence, "remediation.trigger")


def test_alertmanager_url_that_is_prometheus(prometheus_stack, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    evidence, unobserved, _ = collect(authed(prometheus_stack, alertmanager_url=prometheus_stack.url),
                                      tmp_path)
    [am] = [u for u in unobserved if u.what.startswith("Alertmanager")]
    assert "401" in am.reason or "not an Alertmanager API" in am.reason
    assert by_signal(evidence, "tool.monitoring")


@pytest.mark.parametrize("payload", [b"{}", b'{"status": "success", "data": {"groups": 7}}'])
def test_prometheus_like_server_with_broken_rules(tmp_path, payload):
    def respond(handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, dict]:
        if handler.path.startswith("/api/v1/status/buildinfo"):
            return 200, "application/json", b'{"status":"success","data":{"version":"2.99.0"}}', {}
        if handler.path.startswith("/api/v1/rules"):
            return 200, "application/json", payload, {}
        return 404, "text/plain", b"404 page not found", {}

    with serve(respond) as url:
        evidence, unobserved, _ = collect({"url": url}, tmp_path)
    [tool] = by_signal(evidence, "tool.monitoring")
    assert tool.attributes["version"] == "2.99.0"
    [rules] = [u for u in unobserved if u.what == "rules"]
    assert "monitoring.model_rule" in rules.signals
    assert all("\n" not in u.reason for u in unobserved)


def test_huge_paginated_rule_set_stops_asking_at_max_rules(tmp_path):
    """A server that paginates /api/v1/rules (Prometheus 3): 1000 pages of 50 rules; with
    max_rules=120 the probe reads 3 pages and says the rest was skipped."""
    pages: list[str] = []

    def respond(handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, dict]:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(handler.path)
        if parts.path == "/api/v1/status/buildinfo":
            return 200, "application/json", b'{"status":"success","data":{"version":"3.1.0"}}', {}
        if parts.path == "/api/v1/rules":
            page = int(parse_qs(parts.query).get("group_next_token", ["0"])[0])
            pages.append(str(page))
            group = {"name": f"g{page}", "file": "f.yml", "rules": [
                {"name": f"ModelDrift{page}_{i}", "query": "feature_psi > 0.2", "type": "alerting",
                 "health": "ok", "state": "inactive", "lastEvaluation": "2025-01-01T00:00:00Z"}
                for i in range(50)]}
            data = {"groups": [group], **({"groupNextToken": str(page + 1)} if page < 999 else {})}
            return 200, "application/json", json.dumps({"status": "success", "data": data}).encode(), {}
        return 404, "text/plain", b"404 page not found", {}

    with serve(respond) as url:
        evidence, unobserved, _ = collect({"url": url, "max_rules": 120}, tmp_path)
    assert pages == ["0", "1", "2"]
    [skipped] = [u for u in unobserved if u.what == "rules beyond max_rules"]
    assert skipped.reason == ("at least 150 rules loaded; looked at the first 120 "
                              "(max_rules=120), at least 30 skipped")
    assert len(by_signal(evidence, "monitoring.model_rule")) == 120
