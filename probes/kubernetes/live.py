"""Reading a live cluster through the official ``kubernetes`` client, GET requests only.

The client is used at its lowest level (``ApiClient.param_serialize`` + ``call_api`` with
JSON parsed here), so authentication (tokens, client certificates, exec plugins, in-cluster
service accounts) is the client's while requests stay exactly the ones we choose:
``/version``, discovery, and one paginated cluster-wide LIST per kind.

What answers must look like Kubernetes (``/version`` with ``gitVersion``, discovery documents
of the kinds the API server sends) or the target is "not a Kubernetes API"; bodies are read
in chunks up to ``max_response_bytes``; a LIST whose ``continue`` token repeats stops.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import (
    AccessDenied,
    Forbidden,
    ListingCut,
    NotThisApi,
    ProbeError,
    TooLarge,
    Unreachable,
    network_reason,
)
from auditor.limits import PageGuard, ResponseTooLarge, read_capped
from auditor.probe import RequestLog
from auditor.redact import register_secret

from .kinds import GROUPS, KindSpec
from .settings import KubernetesSettings

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
ACCEPT_DISCOVERY = f"{AGGREGATED},application/json"
MAX_TIMEOUT = 30.0


def _fatal(reason: str) -> ProbeError:
    """The whole cluster cannot be read (one-line, credential-free reason)."""
    return ProbeError(reason, fatal=True)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    resource: str
    namespaced: bool

    @property
    def path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.resource}"


class LiveCluster:
    """One API server, reached with the client's own configuration and auth."""

    def __init__(self, settings: KubernetesSettings, remaining: Any,
                 requests: RequestLog | None = None) -> None:
        from kubernetes import client, config  # heavy import: only when a live target runs
        from kubernetes.config.config_exception import ConfigException

        self._remaining = remaining
        self.max_bytes = settings.max_response_bytes
        cfg = client.Configuration()
        try:
            if settings.in_cluster:
                config.load_incluster_config(client_configuration=cfg)
            else:
                config.load_kube_config(config_file=settings.kubeconfig, context=settings.context,
                                        client_configuration=cfg, persist_config=False)
        except (ConfigException, OSError, TypeError, ValueError) as exc:
            raise _fatal(_config_reason(settings, exc)) from None
        except Exception as exc:  # yaml errors and the like from a broken kubeconfig
            raise _fatal(f"cannot load kubeconfig: {type(exc).__name__}") from None
        for value in (cfg.api_key or {}).values():
            register_secret(value)
            register_secret(str(value).removeprefix("Bearer ").strip())
        register_secret(cfg.password)
        cfg.retries = 0  # fail fast; the audit reports unreachable servers instead of waiting
        cfg.client_go_retries = False
        self.host = cfg.host
        self.requests = requests if requests is not None else RequestLog()
        self._api = client.ApiClient(cfg)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a pool must never fail the audit
            self._api.close()

    def _timeout(self) -> tuple[float, float]:
        left = max(1.0, min(MAX_TIMEOUT, float(self._remaining())))
        return (min(10.0, left), left)

    def get(self, path: str, query: list[tuple[str, Any]] | None = None,
            accept: str = "application/json") -> tuple[int, Any, str]:
        """(status, parsed JSON body or None, content type). Network failures → Unreachable."""
        import urllib3

        method, url, headers, _body, _post = self._api.param_serialize(
            "GET", path, query_params=query or [], header_params={"Accept": accept},
            auth_settings=["BearerToken"])
        self.requests.add("GET", path)
        try:
            resp = self._api.call_api(method, url, header_params=headers, _request_timeout=self._timeout())
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"cannot reach the API server at {_hostport(self.host)}: "
                              f"{network_reason(exc)}") from None
        try:
            # never resp.read(): it would take the whole answer into memory, however large
            raw = read_capped(lambda n: resp.response.read(n), self.max_bytes, f"GET {path}")
        except ResponseTooLarge as exc:
            resp.response.close()  # drop the connection rather than drain the rest
            raise TooLarge(str(exc)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"the API server at {_hostport(self.host)} broke off: "
                              f"{network_reason(exc)}") from None
        finally:
            resp.response.release_conn()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        ctype = str(resp.headers.get("Content-Type") or "")
        if resp.status == 401:
            # worded so that redaction has nothing to mask: no "token <word>" in it
            raise AccessDenied("401 Unauthorized: the API server refused invalid or expired "
                               "credentials", status=401)
        return resp.status, body, ctype

    # ---- discovery -----------------------------------------------------------------------

    def _not_kubernetes(self, what: str) -> NotThisApi:
        return NotThisApi(f"not a Kubernetes API at {_hostport(self.host)}: {what}")

    def _get_small(self, path: str, accept: str = "application/json") -> tuple[int, Any, str]:
        """A discovery or version request: an answer too large is no Kubernetes answer."""
        try:
            return self.get(path, accept=accept)
        except TooLarge as exc:
            raise self._not_kubernetes(str(exc)) from None

    def version(self) -> dict[str, Any]:
        status, body, ctype = self._get_small("/version")
        if status in (200, 404) and not (isinstance(body, dict)
                                         and isinstance(body.get("gitVersion"), str)):
            raise self._not_kubernetes(f"GET /version answered {status} "
                                       f"{_describe(body, ctype)} without gitVersion")
        if status != 200:
            raise _fatal(f"GET /version answered {status}")
        return body

    def discover(self) -> dict[tuple[str, str], Resource]:
        """(group, kind) → the resource to list. Aggregated discovery (2 requests) when the
        server offers it, else the legacy per-group documents, only for groups we know."""
        found: dict[tuple[str, str], Resource] = {}
        for root, legacy in (("/api", "APIVersions"), ("/apis", "APIGroupList")):
            status, body, ctype = self._get_small(root, accept=ACCEPT_DISCOVERY)
            if status != 200:
                raise _fatal(f"discovery GET {root} answered {status}")
            kind = body.get("kind") if isinstance(body, dict) else None
            if kind not in (legacy, "APIGroupDiscoveryList"):
                raise self._not_kubernetes(f"discovery GET {root} answered "
                                           f"{_describe(body, ctype)}, not {legacy}")
            if body.get("kind") == "APIGroupDiscoveryList":
                _aggregated(body, found)
            elif root == "/api":
                for version in body.get("versions") or ["v1"]:
                    self._group_version("", str(version), found)
            else:
                for group in body.get("groups") or []:
                    name = str(group.get("name") or "")
                    if name not in GROUPS:
                        continue
                    versions = [str(v.get("version")) for v in group.get("versions") or []]
                    preferred = str((group.get("preferredVersion") or {}).get("version") or "")
                    ordered = ([preferred] if preferred else []) + [v for v in versions if v != preferred]
                    for version in ordered:
                        self._group_version(name, version, found)
                        if _all_found(name, found):
                            break
        return found

    def _group_version(self, group: str, version: str, found: dict[tuple[str, str], Resource]) -> None:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        status, body, _ = self._get_small(path)
        if status != 200 or not isinstance(body, dict):
            return
        for r in body.get("resources") or []:
            _add(found, group, version, r.get("name"), r.get("kind"), r.get("namespaced"), r.get("verbs"))

    # ---- listing -------------------------------------------------------------------------

    def list_pages(self, res: Resource, spec: KindSpec, page_size: int) -> Iterator[list[dict]]:
        """One cluster-wide LIST, page by page (``limit``/``continue``); stops with
        ListingCut on a repeated ``continue`` token or absurdly many pages."""
        token = ""
        guard = PageGuard(f"list {spec.rbac_name}", error=ListingCut)
        while True:
            query: list[tuple[str, Any]] = [("limit", page_size)]
            if token:
                query.append(("continue", token))
            try:
                status, body, _ = self.get(res.path, query)
            except TooLarge as exc:
                raise TooLarge(f"list {spec.rbac_name}: {exc}; lower page_size") from None
            if status == 403:
                raise Forbidden(f"list {spec.rbac_name} forbidden", status=403)
            if status != 200:
                reason = body.get("reason") if isinstance(body, dict) else ""
                raise ProbeError(f"list {spec.rbac_name} answered {status} {reason or ''}".strip(),
                                 status=status)
            if not (isinstance(body, dict) and "items" in body
                    and isinstance(body["items"], list | None)):
                raise ProbeError(f"list {spec.rbac_name}: the answer is not a Kubernetes List")
            yield [i for i in body.get("items") or [] if isinstance(i, dict)]
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return
            guard.next(token)


def _add(found: dict, group: str, version: str, resource: Any, kind: Any, namespaced: Any,
         verbs: Any) -> None:
    if not resource or not kind or "/" in str(resource):
        return
    if isinstance(verbs, list) and verbs and "list" not in verbs:
        return
    found.setdefault((group, str(kind)), Resource(group, version, str(kind), str(resource),
                                                  bool(namespaced)))


def _aggregated(body: dict, found: dict[tuple[str, str], Resource]) -> None:
    for item in body.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for v in item.get("versions") or []:
            for r in v.get("resources") or []:
                kind = (r.get("responseKind") or {}).get("kind")
                _add(found, group, str(v.get("version")), r.get("resource"), kind,
                     r.get("scope") == "Namespaced", r.get("verbs"))


def _all_found(group: str, found: dict) -> bool:
    from .kinds import KINDS

    return all((group, k.kind) in found for k in KINDS if k.group == group)


def _describe(body: Any, ctype: str) -> str:
    """What came back, for "not a Kubernetes API" reasons: a type, a few keys, no values."""
    if isinstance(body, dict):
        keys = ", ".join(sorted(str(k) for k in body)[:4]) or "no keys"
        return f"JSON with {keys}"
    if body is None:
        return ctype.split(";")[0].strip() or "an empty answer"
    return f"JSON {type(body).__name__}"


def _hostport(url: str) -> str:
    parts = urlsplit(url or "")
    return parts.netloc.rsplit("@", 1)[-1] or url


def _config_reason(settings: KubernetesSettings, exc: BaseException) -> str:
    text = str(exc)
    where = settings.kubeconfig or "the default kubeconfig"
    if settings.in_cluster:
        return f"not running inside a cluster (no service account token): {type(exc).__name__}"
    if settings.context and "context" in text.lower():
        return f"context {settings.context!r} not found in {where}"
    if settings.kubeconfig and not Path(settings.kubeconfig).expanduser().is_file():
        return f"kubeconfig {where} does not exist"
    if isinstance(exc, OSError) or "no such file" in text.lower() or "not exist" in text.lower():
        return f"kubeconfig {where} cannot be read"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"cannot load {where}: {first[:160]}"
