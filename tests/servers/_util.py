"""Helpers for starting servers in tests: free ports, waiting for readiness, clean stops."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, ok: Callable[[int], bool] = lambda c: c < 500,
                  proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if ok(resp.status):
                    return
        except urllib.error.HTTPError as exc:
            if ok(exc.code):
                return
            last = exc
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


def start(cmd: list[str], log_path: str, env: dict | None = None, cwd: str | None = None) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            cwd=cwd, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


#: set (as .ci/run does) and a server binary that cannot be found fails the tests needing it
#: instead of skipping them: CI must never pass by running less
REQUIRE_SERVERS = "MLOPS_AUDITOR_REQUIRE_SERVERS"


def which(*names: str) -> str | None:
    """The first of ``names`` found next to the running Python (a virtualenv's ``bin/`` that
    was not activated), on ``PATH``, or in ``/usr/bin`` and ``/usr/sbin``."""
    here = os.path.dirname(sys.executable)
    for name in names:
        beside = os.path.join(here, name)
        if os.access(beside, os.X_OK) and not os.path.isdir(beside):
            return beside
        found = shutil.which(name) or next(
            (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.access(p, os.X_OK)), None)
        if found:
            return found
    return None


def require(*names: str, install: str) -> str:
    """A server binary for a fixture: skips when it is missing, or fails when
    ``MLOPS_AUDITOR_REQUIRE_SERVERS`` is set (CI), naming where it looked."""
    import pytest

    found = which(*names)
    if found:
        return found
    message = (f"{' / '.join(names)} not found next to {sys.executable} or on PATH "
               f"({install})")
    if os.environ.get(REQUIRE_SERVERS):
        pytest.fail(f"{message}; {REQUIRE_SERVERS} is set, so a missing server fails",
                    pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def hanging_server(accepted: list | None = None) -> Iterator[str]:
    """Accepts connections and never answers: for timeouts. ``accepted``, when given, is
    filled with every connection accepted (to count them)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = accepted if accepted is not None else []
    stopping = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stopping.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


@contextlib.contextmanager
def http_server(handler: type) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port for the length of a ``with`` block."""
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: what a foreign JSON service (a health endpoint, someone else's REST API) answers to any GET
FOREIGN_JSON = {"status": "ok", "items": [{"id": 1, "name": "billing"}, {"id": 2, "name": "crm"}]}


@contextlib.contextmanager
def foreign_json_api() -> Iterator[str]:
    """Answers every GET and POST with ``200 {"status": "ok", "items": [...]}``: a URL that
    points at some other service. Probes must say "not a <kind> API", not "nothing found"."""
    import json
    from http.server import BaseHTTPRequestHandler

    body = json.dumps(FOREIGN_JSON).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


def huge_json_body(size: int, envelope: tuple[bytes, bytes] = (b'{"items": ["', b'"]}'),
                   chunk: int = 1 << 20) -> Iterator[bytes]:
    """A JSON document of about ``size`` bytes, produced piece by piece (the server itself
    never holds it): ``envelope`` around one long string."""
    head, tail = envelope
    yield head
    left = max(0, size - len(head) - len(tail))
    block = b"x" * chunk
    while left > 0:
        yield block[:min(chunk, left)]
        left -= chunk
    yield tail
