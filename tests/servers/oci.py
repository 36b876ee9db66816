"""Debian's ``docker-registry`` (distribution v2) for the OCI probe tests.

One storage directory is filled once per session through the registry's HTTP API (blob
uploads, image configs with OCI labels, manifests, an image index, cosign-style signature
and SBOM tags) — there is no Docker engine. Three registry processes then serve it:
anonymous, htpasswd basic auth, and token auth answered by a tiny in-test token server
that signs real JWTs the registry verifies. All listen on 127.0.0.1 on free ports.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers._util import free_port, http_server, require, start, stop, wait_for_http

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"

BASIC_USER, BASIC_PASSWORD = "auditor", "pw-Zq8v2Lr7Tt"
TOKEN_USER, TOKEN_PASSWORD = "robot", "tok-pw-Hk3m9Xc1"
CHURN_REVISION = "0123456789abcdef0123456789abcdef01234567"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- pushing through the distribution API -------------------------------------------------

@dataclass
class Pusher:
    """Writes images through the HTTP API (tests only: the probe itself never writes)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def _req(self, method: str, url: str, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={**self.headers, **(headers or {})})
        return urllib.request.urlopen(req, timeout=30)

    def blob(self, repo: str, data: bytes) -> dict[str, Any]:
        digest = _sha(data)
        with self._req("POST", f"{self.url}/v2/{repo}/blobs/uploads/", b"") as resp:
            location = resp.headers["Location"]
        location = urllib.parse.urljoin(self.url, location)
        sep = "&" if "?" in location else "?"
        with self._req("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}", data,
                       {"Content-Type": "application/octet-stream"}):
            pass
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        with self._req("PUT", f"{self.url}/v2/{repo}/manifests/{ref}", body,
                       {"Content-Type": media_type}) as resp:
            return resp.headers.get("Docker-Content-Digest") or _sha(body)

    def image(self, repo: str, tags: list[str], labels: dict[str, str] | None = None,
              created: str = "2025-01-01T00:00:00Z", docker: bool = False,
              platform: tuple[str, str] = ("linux", "amd64"), layer: bytes = b"layer") -> str:
        """Push a one-layer image; returns its manifest digest."""
        config = json.dumps({
            "created": created, "architecture": platform[1], "os": platform[0],
            "config": {"Labels": labels or {}, "Cmd": ["python"]},
            "rootfs": {"type": "layers", "diff_ids": [_sha(layer)]},
        }, sort_keys=True).encode()
        cfg = self.blob(repo, config)
        lay = self.blob(repo, layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, **cfg},
            "layers": [{"mediaType": DOCKER_LAYER if docker else OCI_LAYER, **lay}],
        }
        body = json.dumps(manifest, sort_keys=True).encode()
        digest = _sha(body)
        for tag in tags or [digest]:
            self.manifest(repo, tag, body, manifest["mediaType"])
        return digest

    def index(self, repo: str, tag: str, children: list[tuple[str, str, str]]) -> str:
        """Push an image index over already pushed manifests (digest, os, arch)."""
        manifests = []
        for digest, os_, arch in children:
            with self._req("GET", f"{self.url}/v2/{repo}/manifests/{digest}",
                           headers={"Accept": OCI_MANIFEST}) as resp:
                size = len(resp.read())
            manifests.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                              "platform": {"os": os_, "architecture": arch}})
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                          sort_keys=True).encode()
        return self.manifest(repo, tag, body, OCI_INDEX)

    def cosign(self, repo: str, subject: str, suffix: str = "sig") -> str:
        """A cosign-style artifact tag ``sha256-<hex>.<suffix>`` next to the image."""
        payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject}}}).encode()
        cfg = self.blob(repo, b"{}")
        lay = self.blob(repo, payload)
        body = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **cfg},
            "layers": [{"mediaType": COSIGN_LAYER, **lay,
                        "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}],
        }, sort_keys=True).encode()
        return self.manifest(repo, subject.replace(":", "-") + "." + suffix, body, OCI_MANIFEST)

    def raw_config_image(self, repo: str, tag: str, config: bytes) -> str:
        """An OCI manifest whose config blob is ``config`` verbatim (e.g. not JSON)."""
        cfg = self.blob(repo, config)
        lay = self.blob(repo, b"layer")
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, **cfg},
                           "layers": [{"mediaType": OCI_LAYER, **lay}]}).encode()
        return self.manifest(repo, tag, body, OCI_MANIFEST)


def labels(revision: str | None = None, version: str | None = None, created: str | None = None,
           base: str | None = None, source: str | None = None) -> dict[str, str]:
    out = {}
    for key, value in (("revision", revision), ("version", version), ("created", created),
                       ("base.name", base), ("source", source)):
        if value:
            out[f"org.opencontainers.image.{key}"] = value
    return out


def push_dataset(p: Pusher) -> dict[str, str]:
    """The standard content every OCI test reads. Returns digests by name."""
    d: dict[str, str] = {}
    src = "https://git.example.com/ml/churn"
    for i, (ver, day) in enumerate((("1.0.0", "2025-01-10"), ("1.1.0", "2025-02-10"),
                                    ("1.2.0", "2025-03-10"))):
        created = f"{day}T12:00:00Z"
        rev = CHURN_REVISION if ver == "1.2.0" else f"{i:040x}"
        tags = [ver, "latest"] if ver == "1.2.0" else [ver]
        d[f"churn:{ver}"] = p.image("ml/churn", tags, labels(rev, ver, created,
                                    "docker.io/library/python:3.11-slim", src),
                                    created=created, layer=f"churn-{ver}".encode())
    d["churn:sha"] = p.image("ml/churn", ["3f2c1a9"], labels(created="2025-03-01T00:00:00Z"),
                             created="2025-03-01T00:00:00Z", layer=b"churn-sha")
    p.cosign("ml/churn", d["churn:1.2.0"], "sig")
    p.cosign("ml/churn", d["churn:1.2.0"], "sbom")
    # latest-only repository, Docker schema 2, older base image family version (drift)
    d["fraud:latest"] = p.image("ml/fraud", ["latest"],
                                labels(base="python:3.10-slim"),
                                created="2024-06-01T00:00:00Z", docker=True, layer=b"fraud")
    # multi-arch index
    amd = p.image("ml/vision", [], labels(version="2.0.0", base="nvcr.io/nvidia/pytorch:24.01-py3",
                                          revision="f" * 40),
                  created="2025-04-01T00:00:00Z", layer=b"vision-amd64")
    arm = p.image("ml/vision", [], labels(version="2.0.0", base="nvcr.io/nvidia/pytorch:24.01-py3"),
                  created="2025-04-01T00:00:00Z", platform=("linux", "arm64"), layer=b"vision-arm")
    d["vision:v2.0.0"] = p.index("ml/vision", "v2.0.0", [(amd, "linux", "amd64"),
                                                         (arm, "linux", "arm64")])
    d["vision:amd64"] = amd
    # a repository whose only image has a config blob that is not JSON
    d["broken:1.0.0"] = p.raw_config_image("ml/broken", "1.0.0", b"\x00 this is not json {")
    # outside the ml/* glob
    d["web:1.0"] = p.image("web/frontend", ["1.0"], labels(version="1.0"), layer=b"web")
    return d


def plant_manifest(root: Path, repo: str, tag: str, body: bytes) -> str:
    """Write a manifest straight into the filesystem storage, the way a corrupted or foreign-
    written registry would hold it: the API validates manifests on push, so a malformed one
    can only get there around it. The registry then serves it as it is."""
    hexd = hashlib.sha256(body).hexdigest()
    v2 = root / "docker" / "registry" / "v2"
    blob = v2 / "blobs" / "sha256" / hexd[:2] / hexd
    blob.mkdir(parents=True, exist_ok=True)
    (blob / "data").write_bytes(body)
    m = v2 / "repositories" / repo / "_manifests"
    for d in (m / "revisions" / "sha256" / hexd, m / "tags" / tag / "current",
              m / "tags" / tag / "index" / "sha256" / hexd):
        d.mkdir(parents=True, exist_ok=True)
        (d / "link").write_text("sha256:" + hexd)
    return "sha256:" + hexd


def plant_malformed(root: Path) -> None:
    # valid JSON, served with 200, but no config descriptor
    plant_manifest(root, "ml/broken", "noconfig", json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode())
    # not JSON at all: distribution answers 500 for it
    plant_manifest(root, "ml/broken", "garbage", b"<html>not a manifest</html>")


# ---- a tiny token server (Docker token authentication spec) ---------------------------------

class TokenIssuer:
    """Signs RS256 JWTs with a self-signed certificate the registry trusts (x5c header)."""

    def __init__(self, directory: Path, service: str, issuer: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.service, self.issuer = service, issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token issuer")])
        now = __import__("datetime").datetime.now(__import__("datetime").UTC)
        delta = __import__("datetime").timedelta
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - delta(days=1)).not_valid_after(now + delta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.cert_path = directory / "token-cert.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    def token(self, subject: str, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + 600,
                  "nbf": now - 60, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64(sig)


def start_token_server(issuer: TokenIssuer, user: str, password: str) -> tuple[ThreadingHTTPServer, list]:
    """Grants every requested scope to ``user``; a wrong password gets 401. Logs requests."""
    seen: list[dict[str, Any]] = []
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            auth = self.headers.get("Authorization")
            seen.append({"scope": query.get("scope", []), "service": query.get("service"),
                         "authenticated": auth == expected})
            if auth != expected:
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"details":"incorrect username or password"}')
                return
            tok = issuer.token(user, query.get("scope", []))
            body = json.dumps({"token": tok, "access_token": tok, "expires_in": 600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


# ---- registry processes --------------------------------------------------------------------

@dataclass
class Registry:
    url: str
    host: str
    root: Path
    log: Path
    proc: subprocess.Popen
    digests: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = None
    token_log: list | None = None

    def methods_logged(self) -> list[str]:
        """HTTP methods of every request the registry served (from its access log)."""
        text = self.log.read_text(errors="replace")
        return re.findall(r'http\.request\.method="?([A-Z]+)', text)

    def storage_fingerprint(self) -> dict[str, tuple[int, int]]:
        out = {}
        for path in sorted(self.root.rglob("*")):
            st = path.stat()
            out[str(path.relative_to(self.root))] = (st.st_size, st.st_mtime_ns)
        return out


def _binary() -> str:
    return require("docker-registry", "registry", install="apt-get install docker-registry")


def start_registry(workdir: Path, root: Path, name: str, auth: dict | None = None) -> Registry:
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}, "formatter": "text"},
        "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": False}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only-http-secret"},
    }
    if auth:
        config["auth"] = auth
    cfg_path = workdir / f"{name}.json"  # YAML is a superset of JSON
    cfg_path.write_text(json.dumps(config))
    log = workdir / f"{name}.log"
    env = {"REGISTRY_CONFIGURATION_PATH": str(cfg_path), "OTEL_TRACES_EXPORTER": "none"}
    proc = start([_binary(), "serve", str(cfg_path)], str(log), env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/v2/", timeout=30, proc=proc)
    return Registry(url=url, host=f"127.0.0.1:{port}", root=root, log=log, proc=proc)


@pytest.fixture(scope="session")
def oci_workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="oci-registry-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def oci_registry(oci_workdir: Path) -> Iterator[Registry]:
    """Anonymous registry holding the standard dataset (see :func:`push_dataset`)."""
    root = oci_workdir / "storage"
    root.mkdir()
    reg = start_registry(oci_workdir, root, "anonymous")
    try:
        reg.digests = push_dataset(Pusher(reg.url))
        plant_malformed(root)
        yield reg
    finally:
        stop(reg.proc)


@pytest.fixture(scope="session")
def oci_registry_basic(oci_registry: Registry, oci_workdir: Path) -> Iterator[Registry]:
    """The same storage behind htpasswd basic auth (bcrypt line made with libcrypt)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt", reason="needs libcrypt's bcrypt via the crypt module")
    hashed = crypt.crypt(BASIC_PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    htpasswd = oci_workdir / "htpasswd"
    htpasswd.write_text(f"{BASIC_USER}:{hashed}\n")
    reg = start_registry(oci_workdir, oci_registry.root, "basic",
                         {"htpasswd": {"realm": "test-realm", "path": str(htpasswd)}})
    reg.digests, reg.username, reg.password = oci_registry.digests, BASIC_USER, BASIC_PASSWORD
    try:
        yield reg
    finally:
        stop(reg.proc)


@pytest.fixture(scope="session")
def oci_registry_token(oci_registry: Registry, oci_workdir: Path) -> Iterator[Registry]:
    """The same storage behind token auth; an in-test token server signs the JWTs."""
    issuer = TokenIssuer(oci_workdir, service="test-registry", issuer="test-issuer")
    server, seen = start_token_server(issuer, TOKEN_USER, TOKEN_PASSWORD)
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    reg = start_registry(oci_workdir, oci_registry.root, "token", {"token": {
        "realm": realm, "service": "test-registry", "issuer": "test-issuer",
        "rootcertbundle": str(issuer.cert_path)}})
    reg.digests, reg.username, reg.password = oci_registry.digests, TOKEN_USER, TOKEN_PASSWORD
    reg.token_log = seen
    try:
        yield reg
    finally:
        stop(reg.proc)
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def html_server() -> Iterator[str]:
    """Something that is not a registry: every path answers 200 with an HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"<!doctype html><html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        yield url


@contextlib.contextmanager
def referrers_proxy(upstream: str, referrers: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    """distribution 2.8 has no referrers API (OCI 1.1). This pass-through proxy in front of
    the real registry adds only ``GET /v2/<repo>/referrers/<digest>``, answering an image
    index of the given descriptors; everything else is the registry's own answer."""
    route = re.compile(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            m = route.match(urllib.parse.urlsplit(self.path).path)
            if m:
                body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                   "manifests": referrers.get(m.group(2), [])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", OCI_INDEX)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            req = urllib.request.Request(upstream + self.path, headers={
                k: v for k, v in self.headers.items() if k.lower() in ("accept", "authorization")})
            try:
                resp = urllib.request.urlopen(req, timeout=30)
            except urllib.error.HTTPError as exc:
                resp = exc
            body = resp.read()
            self.send_response(resp.status if hasattr(resp, "status") else resp.code)
            for k, v in resp.headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        yield url


# ---- helpers for the probe tests -----------------------------------------------------------

NOW = __import__("datetime").datetime(2025, 6, 1, tzinfo=__import__("datetime").UTC)


def run_oci(tmp: Path, timeout: float = 60.0, **settings: Any) -> tuple[list, Any]:
    """Build the target as audit.yaml would and collect; returns (items, probe)."""
    from auditor.config import build_target
    from auditor.probe import ProbeContext
    from probes.oci import OciProbe

    if "docker_config" not in settings:  # never read the developer's ~/.docker/config.json
        empty = tmp / "empty-docker-config.json"
        empty.write_text("{}")
        settings["docker_config"] = str(empty)
    target = build_target({"name": settings.pop("name", "registry"), "kind": "oci", **settings})
    probe = OciProbe()
    ctx = ProbeContext(probe="oci", cache_dir=tmp, now=NOW, timeout=timeout)
    return list(probe.collect(target, ctx)), probe


def as_text(items: list) -> str:
    """Everything a report could show of these items."""
    return json.dumps([i.to_dict() for i in items], default=str)


def by_signal(items: list, signal: str, repo: str | None = None) -> list:
    from auditor.evidence import Evidence

    return [i for i in items if isinstance(i, Evidence) and i.signal == signal
            and (repo is None or i.attributes.get("repository") == repo)]


def unobserved(items: list) -> list:
    from auditor.evidence import Unobserved

    return [i for i in items if isinstance(i, Unobserved)]
