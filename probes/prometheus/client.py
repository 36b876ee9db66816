"""A small read-only JSON-over-HTTP client (stdlib urllib) with the failures a user can act on.

Every call has a deadline, reads at most ``max_bytes``, never follows redirects (a redirect
to a login page is reported, and credentials are never forwarded to another host), and turns
every failure into :class:`ApiError` carrying one line a person understands.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.redact import register_secret

_CHUNK = 64 * 1024


class ApiError(Exception):
    """An endpoint could not be read. ``kind`` says whether other endpoints are worth trying:
    ``unreachable``, ``timeout``, ``auth``, ``forbidden``, ``not_api`` (stop) versus
    ``not_found``, ``too_large``, ``error`` (this endpoint only)."""

    FATAL = frozenset({"unreachable", "timeout", "auth", "not_api"})

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    @property
    def fatal(self) -> bool:
        return self.kind in self.FATAL


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None  # urllib then raises HTTPError with the 3xx code


@dataclass
class Auth:
    """An Authorization header value, or nothing. Build it with :meth:`from_env`."""

    header: str | None = None
    hint: str = "set bearer_token_env or username_env/password_env"

    @classmethod
    def from_env(cls, env: Mapping[str, str], token_var: str | None, user_var: str | None,
                 password_var: str | None, hint: str) -> Auth:
        token = env.get(token_var, "") if token_var else ""
        if token:
            register_secret(token)
            return cls(f"Bearer {token}", hint)
        user = env.get(user_var, "") if user_var else ""
        password = env.get(password_var, "") if password_var else ""
        if user or password:
            register_secret(password)
            raw = base64.b64encode(f"{user}:{password}".encode()).decode()
            register_secret(raw)
            return cls(f"Basic {raw}", hint)
        return cls(None, hint)


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``https://u:p@host/x`` → (``https://host/x``, u, p); credentials are registered as secrets."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    register_secret(password)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), user, password


def host_of(url: str) -> str:
    """``host[:port]`` without credentials, for locators."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "unknown"
    return f"{host}:{parts.port}" if parts.port else host


class ApiClient:
    """GET JSON from one server. Counts requests and bytes (the benchmark reports them)."""

    def __init__(self, base_url: str, auth: Auth, *, timeout: float,
                 remaining: Callable[[], float], max_bytes: int, verify_tls: bool = True,
                 ca_file: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.remaining = remaining
        self.max_bytes = max_bytes
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if self.base_url.startswith("https"):
            context = ssl.create_default_context(cafile=ca_file)
            if not verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self.requests = 0
        self.bytes_read = 0

    # -- raw ---------------------------------------------------------------------------
    def get_json(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = (),
                 timeout: float | None = None) -> Any:
        query = urllib.parse.urlencode(list(params.items()) if isinstance(params, Mapping)
                                       else list(params))
        url = self.base_url + path + (f"?{query}" if query else "")
        budget = min(timeout or self.timeout, self.remaining())
        if budget <= 0:
            raise ApiError("timeout", f"{path}: no time left in the probe's budget")
        request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                       "User-Agent": "mlops-auditor"})
        if self.auth.header:
            request.add_unredirected_header("Authorization", self.auth.header)
        self.requests += 1
        deadline = time.monotonic() + budget
        try:
            with self._opener.open(request, timeout=budget) as resp:
                body = self._read(resp, deadline, path)
                content_type = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, path) from None
        except urllib.error.URLError as exc:
            raise self._network_error(exc.reason, path, budget) from None
        except TimeoutError:
            raise ApiError("timeout", f"{path}: no answer within {budget:g}s") from None
        except (ConnectionError, OSError) as exc:
            raise self._network_error(exc, path, budget) from None
        try:
            return json.loads(body)
        except ValueError:
            kind = content_type.split(";")[0].strip() or "a non-JSON body"
            raise ApiError("not_api", f"{path} answered {kind}, not JSON: not this API") from None

    def _read(self, resp: Any, deadline: float, path: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise ApiError("timeout", f"{path}: answer not complete within the timeout")
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            self.bytes_read += len(chunk)
            if size > self.max_bytes:
                raise ApiError("too_large", f"{path}: answer larger than {self.max_bytes} bytes "
                                            "(max_response_bytes); not read")
            chunks.append(chunk)
        return b"".join(chunks)

    def _http_error(self, exc: urllib.error.HTTPError, path: str) -> ApiError:
        code = exc.code
        if code == 401:
            if self.auth.header:
                return ApiError("auth", f"{path}: 401 Unauthorized — the server refused the "
                                        "configured login")
            return ApiError("auth", f"{path}: 401 Unauthorized — needs a login with read access "
                                    f"({self.auth.hint})")
        if code == 403:
            return ApiError("forbidden", f"{path}: 403 Forbidden — this login may not read {path}")
        if 300 <= code < 400:
            location = urllib.parse.urlsplit(exc.headers.get("Location", "") or "")
            where = f" to {location.netloc}{location.path}" if location.netloc else ""
            return ApiError("not_api", f"{path}: redirected ({code}){where} — a login page or "
                                       "proxy, not the API")
        if code == 404:
            return ApiError("not_found", f"{path}: 404 Not Found")
        detail = ""
        try:
            payload = json.loads(exc.read(4096) or b"{}")
            if isinstance(payload, dict):
                detail = str(payload.get("error") or payload.get("message") or "")
        except (ValueError, OSError):
            pass
        return ApiError("error", f"{path}: HTTP {code}" + (f": {detail}" if detail else ""))

    @staticmethod
    def _network_error(reason: Any, path: str, budget: float) -> ApiError:
        if isinstance(reason, TimeoutError):
            return ApiError("timeout", f"{path}: no answer within {budget:g}s")
        if isinstance(reason, ConnectionRefusedError):
            return ApiError("unreachable", "unreachable: connection refused")
        if isinstance(reason, socket.gaierror):
            return ApiError("unreachable", "unreachable: host name does not resolve")
        if isinstance(reason, ssl.SSLError):
            return ApiError("unreachable", f"TLS failed: {getattr(reason, 'reason', None) or reason}")
        if isinstance(reason, ConnectionResetError):
            return ApiError("unreachable", "unreachable: connection reset by the server")
        text = getattr(reason, "strerror", None) or str(reason)
        return ApiError("unreachable", f"unreachable: {text}")

    # -- API envelopes ---------------------------------------------------------------------
    def prom(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> Any:
        """Prometheus's ``{"status": "success", "data": ...}`` envelope, unwrapped."""
        payload = self.get_json(path, params)
        if not (isinstance(payload, dict) and payload.get("status") in ("success", "error")
                and ("data" in payload or "error" in payload)):
            raise ApiError("not_api", f"{path} answered JSON without Prometheus's status/data "
                                      "envelope: not a Prometheus API")
        if payload["status"] != "success":
            raise ApiError("error", f"{path}: {payload.get('errorType', 'error')}: "
                                    f"{payload.get('error', '')}")
        return payload.get("data")
