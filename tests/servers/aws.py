"""moto in server mode for the AWS probe tests: real HTTP endpoints, started once per session.

- ``moto_url``: a moto server, state reset before each test (POST /moto-api/reset).
- ``moto_auth_url``: a second moto server in its own process whose IAM enforcement the tests
  switch on and off (POST /moto-api/reset-auth); kept apart because that switch is global.
- ``aws_url`` / ``fault_proxy``: an HTTP server in front of moto that answers chosen
  operations with an error (throttling, expired token) a number of times, or answers
  everything with a web page (an endpoint that is not AWS). It also answers, with an empty
  page, the few read APIs moto does not implement (``MOTO_GAPS``): moto's HTTP 500 for them
  costs seconds each, and what the probe does with a 500 has its own test.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.servers._util import free_port, huge_json_body, start, stop, wait_for_http

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAMOTOFAKE00000001", "AWS_SECRET_ACCESS_KEY": "moto-fake-secret-0001"}


def _start_moto(tmp: Path, name: str) -> tuple[str, object]:
    port = free_port()
    proc = start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                 str(tmp / f"{name}.log"))
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/moto-api/data.json", timeout=60, proc=proc)
    return url, proc


def moto_post(url: str, path: str, body: bytes = b"") -> None:
    req = urllib.request.Request(f"{url}{path}", data=body, method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, proc = _start_moto(tmp_path_factory.mktemp("moto"), "moto")
    yield url
    stop(proc)  # type: ignore[arg-type]


@pytest.fixture
def moto_url(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto server and fake default credentials in the environment."""
    moto_post(moto_server, "/moto-api/reset")
    for key, value in FAKE_KEYS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_server


@pytest.fixture(scope="session")
def moto_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, proc = _start_moto(tmp_path_factory.mktemp("moto-auth"), "moto-auth")
    yield url
    stop(proc)  # type: ignore[arg-type]


@pytest.fixture
def moto_auth_url(moto_auth_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Reset, with IAM enforcement off; the test seeds, then calls ``enforce_iam(url)``."""
    moto_post(moto_auth_server, "/moto-api/reset-auth", b"inf")
    moto_post(moto_auth_server, "/moto-api/reset")
    for key, value in FAKE_KEYS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield moto_auth_server
    moto_post(moto_auth_server, "/moto-api/reset-auth", b"inf")


#: moto 5.2 authorises a few read calls under names real IAM does not use (GetBucketEncryption
#: and GetPublicAccessBlock as s3:ListBucket, DescribeBudgets as budgets:DescribeBudgets instead
#: of budgets:ViewBudget, DescribeAlarms as monitoring:DescribeAlarms); from 5.2.6 it takes an
#: S3 call's operation name as its action (s3:ListBuckets for s3:ListAllMyBuckets,
#: s3:GetBucketEncryption for s3:GetEncryptionConfiguration, s3:GetPublicAccessBlock for
#: s3:GetBucketPublicAccessBlock). Tests grant these moto-only names in a second policy, so the
#: shipped policy keeps the real IAM names.
MOTO_IAM_ALIASES = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Resource": "*",
    "Action": ["s3:ListBucket", "s3:ListBuckets", "s3:GetBucketEncryption",
               "s3:GetPublicAccessBlock", "budgets:DescribeBudgets",
               "monitoring:DescribeAlarms"]}]}
#: calls moto cannot authorise at all with enforcement on (it rejects the signature of
#: EventBridge Scheduler's GET requests even for a user allowed "*")
MOTO_IAM_UNVERIFIABLE = {"scheduler:ListSchedules"}


def enforce_iam(url: str) -> None:
    """From now on every request is authenticated and authorised against moto's IAM."""
    moto_post(url, "/moto-api/reset-auth", b"0")


#: read operations moto (5.2) lacks -> the empty answer AWS gives for an account without any
MOTO_GAPS: dict[str, dict] = {
    "ListUserProfiles": {"UserProfiles": []},
    "ListSpaces": {"Spaces": []},
    "ListApps": {"Apps": []},
    "ListMonitoringSchedules": {"MonitoringScheduleSummaries": []},
    "LookupEvents": {"Events": []},
    "ListCostAllocationTags": {"CostAllocationTags": []},
}


class FaultProxy:
    """Forwards to ``upstream``; ``rules[operation] = [status, code, times]`` answers that
    operation with an AWS error ``times`` times (None: always). ``not_aws`` answers every
    request with a web page."""

    def __init__(self) -> None:
        self.upstream = ""
        self.rules: dict[str, list] = {}
        self.not_aws = False
        self.hits: dict[str, int] = {}
        self.gaps = True
        #: operation -> bytes of an (empty-listing) JSON answer padded to that size
        self.huge: dict[str, int] = {}
        #: operation -> result key: answered with no items and next tokens A, B, A, B ...
        self.cycle: dict[str, str] = {}
        self.lock = threading.Lock()

    def reset(self, upstream: str) -> None:
        self.upstream, self.rules, self.not_aws, self.hits = upstream, {}, False, {}
        self.gaps = True
        self.huge, self.cycle = {}, {}

    def fault_for(self, op: str) -> tuple[int, str] | None:
        with self.lock:
            self.hits[op] = self.hits.get(op, 0) + 1
            rule = self.rules.get(op)
            if not rule:
                return None
            status, code, times = rule
            if times is not None:
                if times <= 0:
                    return None
                rule[2] = times - 1
            return status, code


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if proxy.not_aws:
                page = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
                return self._send(200, "text/html", page)
            target = self.headers.get("X-Amz-Target") or ""
            op = target.rsplit(".", 1)[-1] if target else ""
            if not op and body:
                op = (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0]
            fault = proxy.fault_for(op) if op else None
            if target and op in proxy.huge:
                return self._send_stream(proxy.huge[op], huge_json_body(
                    proxy.huge[op], (b'{"x": "', b'"}')))
            if target and op in proxy.cycle:
                token = "A" if proxy.hits[op] % 2 else "B"
                return self._send(200, "application/x-amz-json-1.1", json.dumps(
                    {proxy.cycle[op]: [], "NextToken": token}).encode())
            if not fault and target and proxy.gaps and op in MOTO_GAPS:
                return self._send(200, "application/x-amz-json-1.1",
                                  json.dumps(MOTO_GAPS[op]).encode())
            if fault:
                status, code = fault
                if target:
                    return self._send(status, "application/x-amz-json-1.1", json.dumps(
                        {"__type": code, "message": f"{code} (injected)"}).encode())
                xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                       f"<Message>{code} (injected)</Message></Error><RequestId>1</RequestId>"
                       "</ErrorResponse>")
                return self._send(status, "text/xml", xml.encode())
            up = urlsplit(proxy.upstream)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            headers = dict(self.headers.items())  # the Host header is signed: keep it
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        def _send_stream(self, size: int, chunks: Iterator[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for chunk in chunks:
                    self.wfile.write(chunk)
            except OSError:  # the client stopped reading: that is the point
                self.close_connection = True

        def _send(self, status: int, ctype: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

    return Handler


@pytest.fixture(scope="session")
def _fault_proxy_server() -> Iterator[tuple[FaultProxy, str]]:
    proxy = FaultProxy()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(proxy))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fault_proxy(_fault_proxy_server: tuple[FaultProxy, str], moto_url: str) -> tuple[FaultProxy, str]:
    """(proxy, url): a fault-injecting HTTP front for the (clean) moto server."""
    proxy, url = _fault_proxy_server
    proxy.reset(moto_url)
    return proxy, url


@pytest.fixture
def aws_url(fault_proxy: tuple[FaultProxy, str]) -> str:
    """The endpoint_url the probe is pointed at: the proxy in front of a clean moto."""
    return fault_proxy[1]


@pytest.fixture
def aws_auth(_fault_proxy_server: tuple[FaultProxy, str], moto_auth_url: str) -> tuple[FaultProxy, str, str]:
    """(proxy, proxy url, moto url) in front of the IAM-enforcing moto server."""
    proxy, url = _fault_proxy_server
    proxy.reset(moto_auth_url)
    return proxy, url, moto_auth_url
