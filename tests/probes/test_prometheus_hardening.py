"""The Prometheus probe against a foreign JSON API and a rules API whose pages never end."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.servers._util import foreign_json_api

from .test_prometheus import by_signal, collect
from .test_prometheus_bad_input import only_reason, serve


def test_a_foreign_json_api_is_not_prometheus(tmp_path):
    with foreign_json_api() as url:
        evidence, unobserved, _ = collect({"url": url}, tmp_path)
    assert evidence == []
    assert "not a Prometheus API" in only_reason(unobserved).reason


def test_a_repeated_rules_page_token_stops_the_listing(tmp_path):
    """Prometheus 3 paginates /api/v1/rules; a server naming the same next page forever (with
    no rules, so max_rules never ends it) is asked twice, not until the timeout."""
    pages: list[str] = []

    def respond(handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, dict]:
        if handler.path.startswith("/api/v1/status/buildinfo"):
            return 200, "application/json", b'{"status":"success","data":{"version":"3.1.0"}}', {}
        if handler.path.startswith("/api/v1/rules"):
            pages.append(handler.path)
            data = {"groups": [], "groupNextToken": "again"}
            return 200, "application/json", json.dumps({"status": "success", "data": data}).encode(), {}
        return 404, "text/plain", b"404 page not found", {}

    with serve(respond) as url:
        evidence, unobserved, _ = collect({"url": url}, tmp_path, timeout=20)
    assert len(pages) == 2
    [rules] = [u for u in unobserved if u.what == "rules"]
    assert "same next-page token twice" in rules.reason
    assert "monitoring.model_rule" in rules.signals
    assert by_signal(evidence, "tool.monitoring")  # the rest of the audit went on
