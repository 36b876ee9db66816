"""An in-test Kubernetes API server (no real one can be installed on these machines).

It serves a set of manifests faithfully enough for the real ``kubernetes`` client:
``/version``; discovery (``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>``,
``/apis/<group>/<version>``, and aggregated discovery v2 when asked for it); cluster-wide
and per-namespace LIST with ``limit``/``continue`` (opaque continue tokens,
``remainingItemCount``, ``<Kind>List`` kinds, items without kind/apiVersion for built-in
groups as the real server sends them); GET of one object; 401 for a bad token and 403
with a realistic ``Status`` for resources a test denies. Every request is recorded; any
method but GET is refused with 405, and tests assert none was sent.

Fixtures: ``kube_api`` (session server over :mod:`tests.servers.kubernetes_manifests`),
``kube_api_factory`` (more servers with other objects/options, all stopped at session end).
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

TOKEN = "k8s-test-token-Qm7Vb2Xy9Lp4"
USER = "system:serviceaccount:audit:mlops-auditor"
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.4", "gitCommit": "a78aa47129b8",
           "gitTreeState": "clean", "buildDate": "2024-12-10T11:37:22Z", "goVersion": "go1.22.10",
           "compiler": "gc", "platform": "linux/amd64"}

#: built-in kinds a real server always serves: kind → (group, version, resource, namespaced)
BUILTIN: dict[str, tuple[str, str, str, bool]] = {
    "Namespace": ("", "v1", "namespaces", False),
    "Pod": ("", "v1", "pods", True),
    "Service": ("", "v1", "services", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "ResourceQuota": ("", "v1", "resourcequotas", True),
    "LimitRange": ("", "v1", "limitranges", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Job": ("batch", "v1", "jobs", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
    "HorizontalPodAutoscaler": ("autoscaling", "v2", "horizontalpodautoscalers", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "ValidatingAdmissionPolicy": ("admissionregistration.k8s.io", "v1",
                                  "validatingadmissionpolicies", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
}
BUILTIN_GROUPS = frozenset(g for g, *_ in BUILTIN.values())


@dataclass(frozen=True)
class Res:
    group: str
    versions: tuple[str, ...]
    kind: str
    resource: str
    namespaced: bool

    @property
    def rbac(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorized: bool


@dataclass
class KubeApiServer:
    objects: list[dict]
    token: str = TOKEN
    deny: frozenset[str] = frozenset()  # "resource.group" (or "resource" for core) → 403
    allow: frozenset[str] | None = None  # when set, only these may be listed (an RBAC role)
    aggregated: bool = True
    version: dict[str, Any] = field(default_factory=lambda: dict(VERSION))
    requests: list[Request] = field(default_factory=list)
    #: resources ("resource.group" or "resource") whose LIST answers the same ``continue``
    #: token forever (a broken or hostile server)
    endless: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.resources: dict[tuple[str, str], Res] = {}  # (group, resource) → Res
        for kind, (group, version, resource, namespaced) in BUILTIN.items():
            self.resources[(group, resource)] = Res(group, (version,), kind, resource, namespaced)
        for obj in self.objects:
            if obj.get("kind") == "CustomResourceDefinition":
                spec = obj["spec"]
                versions = tuple(v["name"] for v in spec["versions"] if v.get("served", True))
                self.resources[(spec["group"], spec["names"]["plural"])] = Res(
                    spec["group"], versions, spec["names"]["kind"], spec["names"]["plural"],
                    spec.get("scope", "Namespaced") == "Namespaced")
        by_kind = {(r.group, r.kind): r for r in self.resources.values()}
        self.store: dict[tuple[str, str], list[tuple[str, dict]]] = {k: [] for k in self.resources}
        for n, obj in enumerate(self.objects, start=1):
            api_version = str(obj["apiVersion"])
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            res = by_kind.get((group, obj["kind"]))
            if res is None:  # a kind with no CRD: served anyway under a guessed plural
                res = Res(group, (api_version.rsplit("/", 1)[-1],), obj["kind"],
                          obj["kind"].lower() + "s", bool(obj["metadata"].get("namespace")))
                self.resources[(group, res.resource)] = res
                by_kind[(group, res.kind)] = res
                self.store[(group, res.resource)] = []
            obj = copy.deepcopy(obj)
            obj["metadata"].setdefault("resourceVersion", str(1000 + n))
            obj["metadata"].setdefault("uid", f"00000000-0000-4000-8000-{n:012d}")
            key = f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
            self.store[(group, res.resource)].append((key, obj))
        for items in self.store.values():
            items.sort(key=lambda kv: kv[0])
        self.resource_version = str(1000 + len(self.objects))

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> KubeApiServer:
        server = self

        class Handler(_Handler):
            api = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def non_get(self) -> list[Request]:
        return [r for r in self.requests if r.method != "GET"]

    # ---- discovery documents -----------------------------------------------------------

    def groups(self) -> dict[str, list[Res]]:
        out: dict[str, list[Res]] = {}
        for res in self.resources.values():
            out.setdefault(res.group, []).append(res)
        return out

    def _resource_entry(self, res: Res) -> dict[str, Any]:
        return {"name": res.resource, "singularName": res.kind.lower(), "namespaced": res.namespaced,
                "kind": res.kind, "verbs": VERBS, "storageVersionHash": "x" + res.kind[:6]}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        items = [r for r in self.groups().get(group, []) if version in r.versions]
        if not items:
            return None
        gv = f"{group}/{version}" if group else version
        resources = [self._resource_entry(r) for r in sorted(items, key=lambda r: r.resource)]
        resources += [{"name": f"{r.resource}/status", "singularName": "", "namespaced": r.namespaced,
                       "kind": r.kind, "verbs": ["get", "patch", "update"]} for r in items]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def group_doc(self, group: str) -> dict[str, Any] | None:
        items = self.groups().get(group)
        if not items or not group:
            return None
        versions = sorted({v for r in items for v in r.versions}, key=_version_rank)
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]}}

    def group_list(self) -> dict[str, Any]:
        groups = [self.group_doc(g) for g in sorted(self.groups()) if g]
        for g in groups:
            if g:
                g.pop("kind"), g.pop("apiVersion")
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [g for g in groups if g]}

    def aggregated_doc(self, core: bool) -> dict[str, Any]:
        items = []
        for group, resources in sorted(self.groups().items()):
            if (group == "") != core:
                continue
            versions = sorted({v for r in resources for v in r.versions}, key=_version_rank)
            items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": [
                {"version": v, "freshness": "Current", "resources": [
                    {"resource": r.resource, "scope": "Namespaced" if r.namespaced else "Cluster",
                     "singularResource": r.kind.lower(), "verbs": VERBS,
                     "responseKind": {"group": group, "version": v, "kind": r.kind}}
                    for r in sorted(resources, key=lambda r: r.resource) if v in r.versions]}
                for v in versions]})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {}, "items": items}

    # ---- lists -------------------------------------------------------------------------

    def list(self, res: Res, version: str, namespace: str | None,
             query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        items = self.store.get((res.group, res.resource), [])
        if namespace is not None:
            items = [kv for kv in items if kv[0].startswith(namespace + "/")]
        start = ""
        if query.get("continue", [""])[0]:
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"][0] + "==="))
                start = str(token["start"])
            except (ValueError, KeyError, TypeError):
                return 400, status(400, "BadRequest", "continue key is not valid: illegal base64 data")
        limit = int(query.get("limit", ["0"])[0] or 0)
        rest = [kv for kv in items if kv[0] >= start]
        page = rest[:limit] if limit > 0 else rest
        gv = f"{res.group}/{version}" if res.group else version
        out_items = []
        for _, obj in page:
            obj = copy.deepcopy(obj)
            if res.group in BUILTIN_GROUPS:  # typed lists: items carry no kind/apiVersion
                obj.pop("kind", None)
                obj.pop("apiVersion", None)
            else:
                obj["apiVersion"] = gv
            out_items.append(obj)
        meta: dict[str, Any] = {"resourceVersion": self.resource_version}
        if limit > 0 and len(rest) > limit:
            last = page[-1][0]
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "rv": int(self.resource_version), "start": last + "\x00"}
            ).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = len(rest) - limit
        return 200, {"kind": f"{res.kind}List", "apiVersion": gv, "metadata": meta, "items": out_items}

    def find(self, group: str, version: str, resource: str) -> Res | None:
        res = self.resources.get((group, resource))
        return res if res is not None and version in res.versions else None


def _version_rank(v: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (9, 0, 0)
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0))


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: dict[str, Any], ctype: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", "0b5c9a6e-test")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.api.token}"

    def _refuse(self) -> None:
        parts = urlsplit(self.path)
        self.api.record(Request(self.command, parts.path, parse_qs(parts.query), self._authorized()))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._send(405, status(405, "MethodNotAllowed",
                               f"the server does not allow this method on the requested resource"
                               f" ({self.command})"))

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _refuse

    def do_GET(self) -> None:  # noqa: C901 - one route table
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        authorized = self._authorized()
        self.api.record(Request("GET", parts.path, query, authorized))
        if not authorized:
            return self._send(401, status(401, "Unauthorized", "Unauthorized"))
        segs = [s for s in parts.path.split("/") if s]
        api = self.api
        wants_aggregated = api.aggregated and "as=APIGroupDiscoveryList" in self.headers.get("Accept", "")
        if segs == ["version"]:
            return self._send(200, api.version)
        if segs == ["api"]:
            if wants_aggregated:
                return self._send(200, api.aggregated_doc(core=True), AGGREGATED_CT)
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": [
                                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]})
        if segs == ["apis"]:
            if wants_aggregated:
                return self._send(200, api.aggregated_doc(core=False), AGGREGATED_CT)
            return self._send(200, api.group_list())
        if segs and segs[0] == "api":
            group, rest = "", segs[1:]
        elif segs and segs[0] == "apis" and len(segs) >= 2:
            group, rest = segs[1], segs[2:]
            if not rest:
                doc = api.group_doc(group)
                return self._send(200, doc) if doc else self._not_found()
        else:
            return self._not_found()
        if not rest:
            return self._not_found()
        version, rest = rest[0], rest[1:]
        if not rest:
            doc = api.resource_list(group, version)
            return self._send(200, doc) if doc else self._not_found()
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = api.find(group, version, rest[0])
        if res is None:
            return self._not_found()
        if res.rbac in api.deny or res.resource in api.deny or (
                api.allow is not None and res.rbac not in api.allow):
            scope = f"in the namespace \"{namespace}\"" if namespace else "at the cluster scope"
            verb = "list" if len(rest) == 1 else "get"
            return self._send(403, status(
                403, "Forbidden",
                f"{res.rbac} is forbidden: User \"{USER}\" cannot {verb} resource \"{res.resource}\" "
                f"in API group \"{res.group}\" {scope}",
                {"group": res.group, "kind": res.resource}))
        if len(rest) == 1:
            code, body = api.list(res, version, namespace, query)
            if res.rbac in api.endless or res.resource in api.endless:
                body["metadata"]["continue"] = base64.urlsafe_b64encode(
                    b'{"start": ""}').decode().rstrip("=")  # back to the first page
            return self._send(code, body)
        key = f"{namespace or ''}/{rest[1]}"
        for k, obj in api.store.get((res.group, res.resource), []):
            if k == key:
                return self._send(200, obj)
        return self._send(404, status(404, "NotFound", f"{res.rbac} \"{rest[1]}\" not found",
                                      {"name": rest[1], "group": res.group, "kind": res.resource}))

    def _not_found(self) -> None:
        self._send(404, status(404, "NotFound", "the server could not find the requested resource"))


def write_kubeconfig(path: Path, url: str, token: str, context: str = "audit") -> Path:
    """A kubeconfig the real client reads: one cluster, one token user, one context."""
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "test-cluster", "cluster": {"server": url}}],
        "users": [{"name": "auditor", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "test-cluster", "user": "auditor"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def write_snapshot(folder: Path, objects: Iterable[dict], version: dict | None = VERSION) -> Path:
    """The objects as ``kubectl get -o yaml`` would export them: one List file per kind
    (YAML and JSON alternating), CRDs included, plus ``kubectl version -o json`` output."""
    folder.mkdir(parents=True, exist_ok=True)
    by_kind: dict[str, list[dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    for n, (kind, items) in enumerate(sorted(by_kind.items())):
        doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
        if n % 2:
            (folder / f"{kind.lower()}.json").write_text(json.dumps(doc, indent=2))
        else:
            (folder / f"{kind.lower()}.yaml").write_text(yaml.safe_dump(doc))
    if version is not None:
        (folder / "version.json").write_text(json.dumps(
            {"clientVersion": {"gitVersion": "v1.31.0"}, "kustomizeVersion": "v5.4.2",
             "serverVersion": version}))
    return folder


@pytest.fixture(scope="session")
def kube_api_factory() -> Iterator[Any]:
    started: list[KubeApiServer] = []

    from tests.servers.kubernetes_manifests import manifests  # imported late: also a plugin

    def make(objects: list[dict] | None = None, **options: Any) -> KubeApiServer:
        server = KubeApiServer(objects if objects is not None else manifests(), **options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def kube_api(kube_api_factory: Any) -> KubeApiServer:
    """The standard cluster: the manifests of :mod:`tests.servers.kubernetes_manifests`."""
    return kube_api_factory()


def run_probe(settings: dict[str, Any], cache_dir: Path, name: str = "prod",
              timeout: float = 60.0) -> tuple[list[Any], list[Any]]:
    """Run the probe on one target built as audit.yaml would; (evidence, unobserved)."""
    from auditor.config import build_target
    from auditor.evidence import Evidence
    from auditor.probe import ProbeContext
    from probes.kubernetes import KubernetesProbe

    target = build_target({"name": name, "kind": "kubernetes", **settings})
    ctx = ProbeContext(probe="kubernetes", cache_dir=cache_dir, timeout=timeout)
    out = list(KubernetesProbe().collect(target, ctx))
    return [o for o in out if isinstance(o, Evidence)], [o for o in out if not isinstance(o, Evidence)]


def evidence_keys(evidence: Iterable[Any]) -> list[tuple[str, str, str, str]]:
    """What makes two evidence lists 'the same evidence' (times aside), sorted."""
    return sorted((e.signal, str(e.strength), e.locator, json.dumps(dict(e.attributes), sort_keys=True))
                  for e in evidence)
