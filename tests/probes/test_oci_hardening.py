"""The OCI probe against a service that is not a registry and a catalog that never ends."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.servers._util import foreign_json_api, http_server
from tests.servers.oci import run_oci, unobserved


def test_a_foreign_json_api_is_not_an_empty_registry(tmp_path):
    """``200 {"status": "ok", "items": [...]}`` to every GET: not a registry, so everything
    the registry would have shown is unknown (before, no evidence and no reason at all)."""
    with foreign_json_api() as url:
        items, _ = run_oci(tmp_path, url=url, repositories=["ml/*"])
    [u] = unobserved(items)
    assert u.reason.startswith("not an OCI/Docker registry: GET /v2/ on 127.0.0.1:")
    assert "application/json" in u.reason and "\n" not in u.reason
    assert set(u.signals) >= {"image", "security.signing"}


def test_a_catalog_whose_next_link_repeats_stops_at_the_second_page(tmp_path):
    calls: list[str] = []

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            calls.append(self.path)
            headers = {"Docker-Distribution-API-Version": "registry/2.0"}
            if self.path == "/v2/":
                body: dict = {}
            elif self.path.startswith("/v2/_catalog"):
                body = {"repositories": ["ml/a"]}
                headers["Link"] = '</v2/_catalog?n=1&last=ml%2Fa>; rel="next"'  # always
            else:
                body = {"name": "ml/a", "tags": []}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Registry) as url:
        items, _ = run_oci(tmp_path, url=url, repositories=["ml/*"], page_size=1)
    [u] = unobserved(items)
    assert u.what == "catalog" and "catalog read partially" in u.reason
    assert "same next-page token twice" in u.reason
    assert u.signals == ()  # what was read is used
    assert sum(p.startswith("/v2/_catalog") for p in calls) == 2
