"""Hardening figures: peak memory of each HTTP probe facing one 128 MiB answer, and the time
to refuse a YAML alias bomb.

Run: python benchmarks/bench_hardening.py [--size-mib 128] [--tree PATH]

For every HTTP probe (kubernetes, mlflow, prometheus, oci, aws) a stand-in server in this
process answers the requests the probe makes first with small valid answers and one listing
with a ``--size-mib`` JSON page of many small items (streamed: the server never holds it).
The probe runs in a fresh interpreter; it reports its peak RSS (``ru_maxrss``) after its
client libraries are imported (the baseline) and after the audit of that target. ``--tree``
runs the probes and the config loader of another checkout (an older commit, for a before /
after comparison); each child is held to 4 GiB of address space so an unbounded read fails
instead of taking the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers._util import http_server  # noqa: E402

MiB = 1024 * 1024
CHILD_LIMIT = 4 << 30

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[1])
    kind, raw = sys.argv[2], json.loads(sys.argv[3])
    from auditor import registry
    from auditor.config import build_target
    from auditor.evidence import Unobserved
    from auditor.probe import ProbeContext
    probe = registry.probe_for(kind)
    if hasattr(probe, "prepare"):
        probe.prepare()
    target = build_target({"name": "t", "kind": kind, **raw})
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    error = None
    try:
        items = list(probe.collect(target, ProbeContext(probe=kind, cache_dir=sys.argv[4],
                                                        timeout=300)))
    except BaseException as exc:  # MemoryError in the unbounded case
        items, error = [], f"{type(exc).__name__}: {exc}"[:200]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reasons = [u.reason for u in items if isinstance(u, Unobserved) and "larger" in u.reason]
    print(json.dumps({"baseline_mib": base / 1024, "peak_mib": peak / 1024,
                      "seconds": time.monotonic() - t0, "reason": (reasons or [error])[0]}))
""")


# -- streamed bodies -------------------------------------------------------------------------

def items_body(head: str, item: Callable[[int], str], tail: str, size: int) -> Iterator[bytes]:
    """``head`` + comma-separated ``item(i)`` + ``tail`` of about ``size`` bytes, in chunks."""
    yield head.encode()
    sent, i, chunk = len(head), 0, []
    while sent < size:
        text = ("," if i else "") + item(i)
        chunk.append(text)
        sent += len(text)
        i += 1
        if len(chunk) >= 2000:
            yield "".join(chunk).encode()
            chunk = []
    yield ("".join(chunk) + tail).encode()


def namespace(i: int) -> str:
    return json.dumps({"metadata": {"name": f"ml-team-{i:07d}", "uid": f"u-{i}",
                                    "labels": {"team": f"t{i % 50}", "env": "prod"}}})


def run(i: int) -> str:
    return json.dumps({"info": {"run_id": f"{i:032x}", "experiment_id": "1", "status": "FINISHED",
                                "start_time": 1700000000000 + i, "lifecycle_stage": "active"},
                       "data": {"params": [{"key": "lr", "value": "0.01"}],
                                "tags": [{"key": "mlflow.source.git.commit", "value": "ab" * 20}]}})


def group(i: int) -> str:
    return json.dumps({"name": f"g{i}", "file": "rules.yml", "rules": [
        {"name": f"HighLatency{i}", "query": "latency_seconds > 1", "type": "alerting",
         "health": "ok", "state": "inactive"}]})


def repository(i: int) -> str:
    return json.dumps(f"ml/model-{i:08d}")


def notebook(i: int) -> str:
    return json.dumps({"NotebookInstanceName": f"nb-{i:08d}", "NotebookInstanceStatus": "InService",
                       "NotebookInstanceArn": f"arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/nb-{i}"})


STS = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
       b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn>"
       b"<UserId>AIDA0000</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
       b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>")


def routes(kind: str, size: int) -> Callable[[BaseHTTPRequestHandler, bytes], tuple]:
    """(status, content type, body bytes or chunk iterator, extra headers) per request."""
    def js(doc: object) -> tuple:
        return 200, "application/json", json.dumps(doc).encode(), {}

    def huge(head: str, item: Callable[[int], str], tail: str, ctype: str = "application/json"):
        return 200, ctype, items_body(head, item, tail, size), {}

    def kubernetes(h: BaseHTTPRequestHandler, _body: bytes) -> tuple:
        path = urlsplit(h.path).path
        if path == "/version":
            return js({"major": "1", "minor": "31", "gitVersion": "v1.31.4"})
        if path == "/api":
            return js({"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return js({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return js({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "namespaces", "kind": "Namespace", "namespaced": False, "verbs": ["list"]}]})
        if path == "/api/v1/namespaces":
            return huge('{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[', namespace, "]}")
        return 404, "application/json", b"{}", {}

    def mlflow(h: BaseHTTPRequestHandler, _body: bytes) -> tuple:
        path = urlsplit(h.path).path
        if path == "/version":
            return 200, "text/plain", b"2.17.0", {}
        if path.endswith("/experiments/search"):
            return js({"experiments": [{"experiment_id": "1", "name": "churn",
                                        "lifecycle_stage": "active"}]})
        if path.endswith("/runs/search"):
            return huge('{"runs":[', run, "]}")
        if path.endswith("/registered-models/search"):
            return js({"registered_models": []})
        if path.endswith("/model-versions/search"):
            return js({"model_versions": []})
        return 404, "application/json", b'{"error_code": "ENDPOINT_NOT_FOUND"}', {}

    def prometheus(h: BaseHTTPRequestHandler, _body: bytes) -> tuple:
        path = urlsplit(h.path).path
        if path == "/api/v1/status/buildinfo":
            return js({"status": "success", "data": {"version": "2.53.0"}})
        if path == "/api/v1/rules":
            return huge('{"status":"success","data":{"groups":[', group, "]}}")
        return 404, "text/plain", b"404 page not found", {}

    def oci(h: BaseHTTPRequestHandler, _body: bytes) -> tuple:
        path = urlsplit(h.path).path
        api = {"Docker-Distribution-API-Version": "registry/2.0"}
        if path == "/v2/":
            return 200, "application/json", b"{}", api
        if path == "/v2/_catalog":
            return 200, "application/json", items_body('{"repositories":[', repository, "]}", size), api
        return 404, "application/json", b'{"errors":[{"code":"NAME_UNKNOWN"}]}', api

    def aws(h: BaseHTTPRequestHandler, body: bytes) -> tuple:
        target = h.headers.get("X-Amz-Target") or ""
        if b"GetCallerIdentity" in body:
            return 200, "text/xml", STS, {}
        if target.endswith(".ListNotebookInstances"):
            return huge('{"NotebookInstances":[', notebook, "]}", "application/x-amz-json-1.1")
        if target:
            return 200, "application/x-amz-json-1.1", b"{}", {}
        return 400, "text/xml", (b"<ErrorResponse><Error><Code>InvalidAction</Code>"
                                 b"<Message>not here</Message></Error></ErrorResponse>"), {}

    return {"kubernetes": kubernetes, "mlflow": mlflow, "prometheus": prometheus, "oci": oci,
            "aws": aws}[kind]


def handler(respond: Callable[[BaseHTTPRequestHandler, bytes], tuple]) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, ctype, payload, headers = respond(self, body)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for key, value in headers.items():
                self.send_header(key, value)
            try:
                if isinstance(payload, bytes):
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in payload:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:  # the probe stopped reading: the point of the cap
                self.close_connection = True

        do_GET = do_POST = _any  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def target_settings(kind: str, url: str, tmp: Path) -> dict:
    if kind == "kubernetes":
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "b",
            "clusters": [{"name": "c", "cluster": {"server": url}}],
            "users": [{"name": "u", "user": {"token": "bench"}}],
            "contexts": [{"name": "b", "context": {"cluster": "c", "user": "u"}}]}))
        return {"kubeconfig": str(kubeconfig)}
    if kind == "mlflow":
        return {"tracking_uri": url, "max_retries": 0}
    if kind == "aws":
        return {"endpoint_url": url, "regions": ["eu-west-1"], "max_attempts": 1}
    return {"url": url}


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_LIMIT, CHILD_LIMIT))


def measure_probe(kind: str, size: int, tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp, http_server(handler(routes(kind, size))) as url:
        settings = target_settings(kind, url, Path(tmp))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIABENCHBENCH000001",
               "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "eu-west-1"}
        proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), kind, json.dumps(settings),
                               tmp], capture_output=True, text=True, env=env, timeout=900,
                              preexec_fn=limit_memory, cwd=tree)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:160]}
    return json.loads(lines[-1])


def alias_bomb_seconds(tree: Path) -> tuple[float, str]:
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(levels) + "\ntargets:\n  - {name: x, kind: git, path: .}\nwaivers: *i\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.yaml"
        path.write_text(text)
        code = (f"import sys, time; sys.path.insert(0, {str(tree)!r}); "
                "from auditor.config import load, ConfigError; t = time.monotonic()\n"
                f"try:\n    load({str(path)!r}); out = 'loaded'\n"
                "except ConfigError as e:\n    out = str(e)\n"
                "except MemoryError:\n    out = 'MemoryError'\n"
                "print(time.monotonic() - t); print(out[-80:])")
        started = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=300, preexec_fn=limit_memory, cwd=tree)
        except subprocess.TimeoutExpired:
            return time.monotonic() - started, "still running after 300 s"
    lines = proc.stdout.strip().splitlines()
    if len(lines) < 2:
        return time.monotonic() - started, (proc.stderr.strip().splitlines() or ["?"])[-1][:80]
    return float(lines[0]), lines[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=128)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose code runs")
    parser.add_argument("--probes", default="kubernetes,mlflow,prometheus,oci,aws")
    args = parser.parse_args()
    size = args.size_mib * MiB
    print(f"code: {args.tree}   one answer of {args.size_mib} MiB, child limit "
          f"{CHILD_LIMIT >> 30} GiB address space")
    print(f"{'probe':12} {'baseline MiB':>12} {'peak MiB':>9} {'seconds':>8}  outcome")
    for kind in args.probes.split(","):
        r = measure_probe(kind, size, args.tree)
        if "error" in r:
            print(f"{kind:12} {'-':>12} {'-':>9} {'-':>8}  failed: {r['error']}")
            continue
        print(f"{kind:12} {r['baseline_mib']:12.0f} {r['peak_mib']:9.0f} {r['seconds']:8.1f}  "
              f"{(r['reason'] or 'read whole')[:90]}")
    seconds, outcome = alias_bomb_seconds(args.tree)
    print(f"alias bomb (9 levels of 9, 387M values): {seconds:.3f} s -> {outcome}")


if __name__ == "__main__":
    main()
