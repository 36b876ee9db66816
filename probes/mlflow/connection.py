"""One connection to an MLflow server: credentials, bounded requests, MLflow's REST stores.

MLflow's client reads its retry and timeout limits from process-wide environment variables
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``MLFLOW_HTTP_REQUEST_TIMEOUT``) on every request.
Probes run concurrently in threads, so instead of changing the environment this module
subclasses MLflow's own REST stores and routes their calls through :meth:`Connection.call_proto`,
which passes explicit limits to ``mlflow.utils.rest_utils.http_request``. Nothing global changes.
Answers are streamed and read up to ``max_response_bytes``: a larger one is not read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import AccessDenied, NotThisApi, ProbeError, TooLarge, transport_error
from auditor.limits import ResponseTooLarge, join_capped
from auditor.probe import RequestLog
from auditor.redact import register_secret
from probes.mlflow.settings import MlflowSettings

_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?([.+-][0-9A-Za-z.]+)*$")
_SECRET_ENV = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "DATABRICKS_TOKEN",
               "DATABRICKS_CLIENT_SECRET", "DATABRICKS_PASSWORD")


def display_host(uri: str, creds_host: str | None = None) -> str:
    """``host[:port]`` for locators and reasons: never userinfo, never a path."""
    parts = urlsplit(creds_host or uri)
    if parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname}{port}"
    return uri.split("://", 1)[-1].strip("/") or "databricks"


def _env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None


def resolve_creds(uri: str, settings: MlflowSettings) -> Any:
    """MLflow's own credential resolution (env vars, ~/.mlflow/credentials, Databricks profile),
    then the optional ``*_env`` overrides. Every secret found is registered for redaction."""
    from mlflow.utils.rest_utils import MlflowHostCreds

    for name in _SECRET_ENV:
        register_secret(os.environ.get(name))
    register_secret(urlsplit(uri).password)  # http://user:password@host works with requests
    if uri.startswith("databricks"):
        from mlflow.utils.databricks_utils import get_databricks_host_creds

        creds = get_databricks_host_creds(uri)
    else:
        from mlflow.utils.credentials import get_default_host_creds

        creds = get_default_host_creds(uri)
    token = _env(settings.token_env) or creds.token
    username = _env(settings.username_env) or creds.username
    password = _env(settings.password_env) or creds.password
    for secret in (token, password, getattr(creds, "client_secret", None)):
        register_secret(secret)
    if (token, username, password) == (creds.token, creds.username, creds.password):
        return creds
    return MlflowHostCreds(
        host=creds.host, username=username, password=password, token=token,
        aws_sigv4=creds.aws_sigv4, auth=creds.auth,
        ignore_tls_verification=creds.ignore_tls_verification,
        client_cert_path=creds.client_cert_path, server_cert_path=creds.server_cert_path,
    )


def has_credentials(creds: Any) -> bool:
    return bool(creds.token or creds.password or creds.aws_sigv4 or creds.auth
                or getattr(creds, "use_databricks_sdk", False)
                or getattr(creds, "client_secret", None))


class Connection:
    """Requests to one server with explicit retry/timeout limits and one-line failures."""

    def __init__(self, uri: str, settings: MlflowSettings, remaining: Callable[[], float],
                 requests: RequestLog | None = None) -> None:
        self.uri = uri
        self.settings = settings
        self._remaining = remaining
        self.creds = resolve_creds(uri, settings)
        self.host = display_host(uri, self.creds.host)
        self.requests = requests if requests is not None else RequestLog()

    # -- transport -----------------------------------------------------------------------
    def timeout(self) -> float:
        return max(0.5, min(self.settings.request_timeout, self._remaining()))

    def request(self, endpoint: str, method: str = "GET", *, anonymous: bool = False,
                **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException
        from mlflow.utils.rest_utils import MlflowHostCreds, http_request

        creds = self.creds
        if anonymous:
            creds = MlflowHostCreds(host=self.creds.host,
                                    ignore_tls_verification=self.creds.ignore_tls_verification,
                                    server_cert_path=self.creds.server_cert_path)
        timeout = self.timeout()
        self.requests.add(method, endpoint)
        try:
            resp = http_request(
                creds, endpoint, method, max_retries=self.settings.max_retries,
                backoff_factor=0.5, backoff_jitter=0.0, timeout=timeout,
                retry_timeout_seconds=timeout * (self.settings.max_retries + 1),
                raise_on_status=False, stream=True, **kwargs,
            )
        except (MlflowException, OSError) as exc:
            raise transport_error(exc, self.host, timeout) from None
        try:
            body = join_capped(resp.iter_content(64 * 1024), self.settings.max_response_bytes,
                               f"{self.host} {endpoint}")
        except ResponseTooLarge as exc:
            resp.close()
            raise TooLarge(str(exc)) from None
        except Exception as exc:  # the connection broke off mid-answer
            resp.close()
            raise transport_error(exc, self.host, timeout) from None
        # what requests would have read itself: .json() and .text work as usual
        resp._content, resp._content_consumed = body, True
        return resp

    def call_proto(self, endpoint: str, method: str, json_body: str | None, proto: Any) -> Any:
        """What ``mlflow.utils.rest_utils.call_endpoint`` does, with bounded limits and
        failures phrased for a report."""
        body = json.loads(json_body) if json_body else None
        if method == "GET":
            resp = self.request(endpoint, method, params=body)
        else:
            resp = self.request(endpoint, method, json=body)
        return parse_response(resp, self.host, endpoint, proto)

    # -- server facts --------------------------------------------------------------------
    def server_version(self) -> str | None:
        """``GET /version``: the version string, None where the server has no such route."""
        resp = self.request("/version")
        if resp.status_code in (401, 403):
            raise denied(resp.status_code, self.host, "/version")
        if resp.status_code != 200:
            return None
        text = resp.text.strip()
        if _VERSION.match(text):
            return text
        if resp.history and describe_body(resp) == "an HTML page":
            raise AccessDenied(f"{self.host} redirected /version to an HTML page (a sign-in "
                               "page?): give credentials the server accepts", status=401)
        raise NotThisApi(f"{self.host} answered {describe_body(resp)} to /version: "
                        "not an MLflow tracking server")

    def auth_enforced(self) -> bool | None:
        """Does the server refuse a request without credentials? (401/403 or a login redirect)"""
        resp = self.request("/api/2.0/mlflow/experiments/search", "GET", anonymous=True,
                            params={"max_results": 1}, allow_redirects=False)
        if resp.status_code in (401, 403) or 300 <= resp.status_code < 400:
            return True
        if resp.status_code == 200:
            return False
        return None


def denied(status: int, host: str, endpoint: str) -> AccessDenied:
    if status == 401:
        return AccessDenied(f"{host} requires authentication (HTTP 401 on {endpoint}): set "
                            "MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD", status=401)
    return AccessDenied(f"{host} refused access (HTTP 403 on {endpoint}): the credentials need "
                        "READ permission on experiments and registered models", status=403)


def describe_body(resp: Any) -> str:
    ctype = (resp.headers.get("content-type") or "").split(";")[0].strip().lower()
    if "html" in ctype or resp.text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        return "an HTML page"
    if "json" in ctype:
        return "JSON that is not MLflow's"
    return f"{ctype or 'an unknown content type'} (HTTP {resp.status_code})"


def _proto_fields(proto: Any) -> set[str]:
    return {f.json_name for f in proto.DESCRIPTOR.fields} | {f.name for f in proto.DESCRIPTOR.fields}


def parse_response(resp: Any, host: str, endpoint: str, proto: Any) -> Any:
    from google.protobuf.json_format import ParseError
    from mlflow.utils.proto_json_utils import parse_dict

    status = resp.status_code
    if status in (401, 403):
        raise denied(status, host, endpoint)
    try:
        data = resp.json()
    except ValueError:
        data = None
    if status != 200:
        if isinstance(data, dict) and "error_code" in data:
            raise ProbeError(f"{host} answered {str(data['error_code'])[:60]} (HTTP {status}) to {endpoint}")
        if status == 404:
            raise NotThisApi(f"{host} answered HTTP 404 to {endpoint}: not an MLflow tracking server")
        raise ProbeError(f"{host} answered HTTP {status} to {endpoint}")
    if not isinstance(data, dict):
        if not resp.text.strip():
            return proto
        raise NotThisApi(f"{host} answered {describe_body(resp)} to {endpoint}: "
                        "not an MLflow tracking server")
    unknown = sorted(set(data) - _proto_fields(proto))
    if unknown:
        raise NotThisApi(f"{host} answered JSON without MLflow fields (e.g. {unknown[0][:40]!r}) "
                        f"to {endpoint}: not an MLflow tracking server")
    try:
        parse_dict(data, proto)
    except ParseError:
        raise NotThisApi(f"{host} answered JSON MLflow cannot parse to {endpoint}") from None
    return proto


@cache
def _store_classes() -> tuple[type, type]:
    """MLflow's REST stores, with every call routed through a :class:`Connection`."""
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore as TrackingRestStore

    class BoundedTrackingStore(TrackingRestStore):
        def __init__(self, conn: Connection) -> None:
            super().__init__(lambda: conn.creds)
            self._conn = conn

        def _call_endpoint(self, api: Any, json_body: Any = None, endpoint: Any = None,
                           retry_timeout_seconds: Any = None, response_proto: Any = None,
                           **_: Any) -> Any:
            table = self._V3_METHOD_TO_INFO if api in self._V3_APIS else self._METHOD_TO_INFO
            default_endpoint, method = table[api]
            return self._conn.call_proto(endpoint or default_endpoint, method, json_body,
                                         response_proto or api.Response())

    class BoundedRegistryStore(RegistryRestStore):
        def __init__(self, conn: Connection) -> None:
            super().__init__(lambda: conn.creds)
            self._conn = conn

        def _call_endpoint(self, api: Any, json_body: Any, call_all_endpoints: bool = False,
                           extra_headers: Any = None) -> Any:
            endpoint, method = self._get_endpoint_from_method(api)
            return self._conn.call_proto(endpoint, method, json_body,
                                         self._get_response_from_method(api))

    return BoundedTrackingStore, BoundedRegistryStore


def tracking_store(conn: Connection) -> Any:
    return _store_classes()[0](conn)


def registry_store(conn: Connection) -> Any:
    if conn.uri.startswith("databricks-uc"):
        raise ProbeError("the Unity Catalog model registry (databricks-uc) is not supported; "
                       "set registry_uri: databricks for the workspace registry")
    return _store_classes()[1](conn)
