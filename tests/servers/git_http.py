"""Git over smart HTTP with basic auth: ``git http-backend`` behind a small threaded server.

One server per test session on a free loopback port. Every request without the right
``Authorization: Basic`` header is answered 401 with a ``WWW-Authenticate`` challenge, as a
real git host does, so git's credential machinery (helpers, prompts) is exercised.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.servers._util import http_server

GIT_USER = "auditor"
GIT_PASSWORD = "Pw-9f3b1c7e2d-over-http"


@dataclass
class GitHttp:
    url: str  # http://127.0.0.1:<port>
    root: Path  # folder of bare repositories served
    user: str = GIT_USER
    password: str = GIT_PASSWORD
    #: (method, path, authorized) of every request, in order
    requests: list[tuple[str, str, bool]] = field(default_factory=list)

    def repo_url(self, name: str = "model.git", user: str | None = None,
                 password: str | None = None) -> str:
        host = self.url.removeprefix("http://")
        if user is None:
            return f"http://{host}/{name}"
        return f"http://{user}:{password}@{host}/{name}"


def _handler(server: GitHttp, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{server.user}:{server.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _serve(self) -> None:
            authorized = self.headers.get("Authorization") == expected
            with lock:
                server.requests.append((self.command, self.path, authorized))
            if not authorized:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": server.user,
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            out = subprocess.run(["git", "http-backend"], input=body, env=env,
                                 capture_output=True, check=False).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _seed(root: Path) -> None:
    """``model.git``: one commit with a training workflow."""
    work = root / "_work"
    work.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root)}
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / ".github" / "workflows" / "train.yml").write_text(
        "on: {schedule: [{cron: '0 3 * * 1'}]}\njobs:\n  train:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: python train.py\n")
    (work / "train.py").write_text("import mlflow\n\nmlflow.autolog()\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "train"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "model.git")], env=env,
                   check=True)
    subprocess.run(["git", "-C", str(root / "model.git"), "config", "http.receivepack", "false"],
                   env=env, check=True)
    subprocess.run(["git", "-C", str(root / "model.git"), "config", "uploadpack.allowFilter",
                    "true"], env=env, check=True)


@pytest.fixture(scope="session")
def git_http(tmp_path_factory) -> Iterator[GitHttp]:
    root = tmp_path_factory.mktemp("git-http")
    _seed(root)
    lock = threading.Lock()
    server = GitHttp(url="", root=root)
    with http_server(_handler(server, lock)) as url:
        server.url = url
        yield server
