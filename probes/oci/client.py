"""A read-only Distribution v2 / OCI client on urllib: GET and HEAD only.

Authentication as Docker clients do it: anonymous first; on ``401`` the
``WWW-Authenticate`` challenge decides — ``Basic`` sends the credentials, ``Bearer``
fetches a token from the realm for the scope (``repository:<name>:pull``,
``registry:catalog:*``) and retries. Tokens are cached per scope and registered as
secrets. Every request is bounded by a timeout and logged (method, path) for benchmarks
and tests.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from auditor.limits import PageGuard
from auditor.redact import register_secret

from .credentials import Credentials

MAX_BODY = 8 * 1024 * 1024  # manifests and configs are small; tag pages can be large
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.IGNORECASE)


class RegistryError(Exception):
    """A failed request, phrased as one line for ``unobserved``."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Unauthorized(RegistryError):
    pass


class NotFound(RegistryError):
    pass


class Unreachable(RegistryError):
    """Connection refused, DNS, TLS or timeout: the whole registry is out of sight."""


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes
    url: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


@dataclass
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(values: list[str]) -> Challenge | None:
    """``Bearer realm="...",service="...",scope="..."`` (the first Bearer or Basic one)."""
    found: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                  for m in _PARAM.finditer(rest)}
        found.append(Challenge(scheme.lower(), params))
    for wanted in ("bearer", "basic"):
        for ch in found:
            if ch.scheme == wanted:
                return ch
    return None


def next_link(headers: Message, base: str) -> str | None:
    for value in headers.get_all("Link") or []:
        m = _LINK_NEXT.search(value)
        if m:
            return urllib.parse.urljoin(base, m.group(1))
    return None


def _error_code(body: bytes) -> str:
    """The distribution error code (``NAME_UNKNOWN``, ``DENIED``...) when the body has one."""
    try:
        errors = json.loads(body).get("errors") or []
        return str(errors[0].get("code", "")) if errors else ""
    except (ValueError, AttributeError, TypeError, IndexError):
        return ""


class _NoAuthOnForeignRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects (blob storage), but never carry Authorization to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(
                req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


class RegistryClient:
    def __init__(self, base_url: str, credentials: Credentials | None,
                 timeout: Callable[[], float], verify_tls: bool = True,
                 ca_bundle: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.creds = credentials
        self._timeout = timeout
        self.log: list[tuple[str, str]] = []
        self._mode: str | None = "bearer-static" if credentials and credentials.token else None
        self._realm: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        if not verify_tls:
            context = ssl._create_unverified_context()  # noqa: S323 - user asked for it
        self._opener = urllib.request.build_opener(
            _NoAuthOnForeignRedirect, urllib.request.HTTPSHandler(context=context))

    # -- transport ---------------------------------------------------------------------------
    def _send(self, method: str, url: str, headers: dict[str, str]) -> Response:
        timeout = self._timeout()
        if timeout <= 0:
            raise Unreachable("the probe ran out of time")
        req = urllib.request.Request(url, method=method,
                                     headers={"User-Agent": "mlops-auditor", **headers})
        self.log.append((method, urllib.parse.urlsplit(url).path))
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                body = resp.read(MAX_BODY + 1) if method != "HEAD" else b""
                return Response(resp.status, resp.headers, body, resp.url)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read(64 * 1024)
            except OSError:
                body = b""
            return Response(exc.code, exc.headers, body, url)
        except TimeoutError:
            raise Unreachable(f"no answer within {timeout:.0f}s from {_host(url)}") from None
        except urllib.error.URLError as exc:
            inner = exc.reason
            if isinstance(inner, (TimeoutError, socket.timeout)):
                raise Unreachable(f"no answer within {timeout:.0f}s from {_host(url)}") from None
            if isinstance(inner, ssl.SSLError):
                raise Unreachable(f"TLS error talking to {_host(url)}: {inner.reason or inner}"
                                  " (set ca_bundle or verify_tls: false)") from None
            text = getattr(inner, "strerror", None) or str(inner)
            raise Unreachable(f"cannot connect to {_host(url)}: {text}") from None
        except (OSError, ValueError) as exc:
            raise Unreachable(f"cannot talk to {_host(url)}: {type(exc).__name__}: {exc}") from None

    # -- authentication ----------------------------------------------------------------------
    def _auth_header(self, scope: str | None) -> str | None:
        if self._mode == "bearer-static" and self.creds and self.creds.token:
            return "Bearer " + self.creds.token
        if self._mode == "basic" and self.creds:
            return self.creds.basic
        if self._mode == "bearer":
            token = self._tokens.get(scope or "")
            return "Bearer " + token if token else None
        return None

    def _fetch_token(self, scope: str) -> str:
        params = {"service": self._realm.get("service", "")}
        if scope:
            params["scope"] = scope
        realm = self._realm.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise Unauthorized(f"the auth realm {realm!r} in the registry's challenge is not a URL")
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(
            {k: v for k, v in params.items() if v})
        headers = {"Accept": "application/json"}
        basic = self.creds.basic if self.creds else None
        if basic:
            headers["Authorization"] = basic
        resp = self._send("GET", url, headers)
        if resp.status in (401, 403):
            who = f"the login from {self.creds.source}" if basic and self.creds else "anonymous access"
            raise Unauthorized(f"the registry's auth service {_host(url)} refused {who} for {scope or 'the registry'} "
                               f"(HTTP {resp.status})", resp.status)
        if resp.status != 200:
            raise Unauthorized(f"the registry's auth service {_host(url)} answered HTTP {resp.status}", resp.status)
        try:
            data = resp.json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise Unauthorized(f"the registry's auth service {_host(url)} returned no token")
        register_secret(token)
        return token

    def request(self, method: str, path_or_url: str, accept: str | None = None,
                scope: str | None = None) -> Response:
        """One request with the auth dance; raises Unreachable, returns any other status."""
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        for attempt in range(3):
            headers = {"Accept": accept} if accept else {}
            if self._mode == "bearer" and (scope or "") not in self._tokens:
                self._tokens[scope or ""] = self._fetch_token(scope or "")
            auth = self._auth_header(scope)
            if auth:
                headers["Authorization"] = auth
            resp = self._send(method, url, headers)
            if resp.status != 401 or attempt == 2:
                return resp
            challenge = parse_challenge(resp.headers.get_all("WWW-Authenticate") or [])
            if challenge is None:
                return resp
            if challenge.scheme == "basic":
                if self._mode == "basic" or not (self.creds and self.creds.basic):
                    return resp
                self._mode = "basic"
            elif challenge.scheme == "bearer":
                wanted = challenge.params.get("scope", scope or "")
                if self._mode == "bearer" and wanted in self._tokens and auth:
                    return resp  # a fresh token for this scope was refused
                if self._mode == "bearer-static" and auth:
                    return resp
                self._mode = "bearer"
                self._realm = challenge.params
                self._tokens[wanted] = self._fetch_token(wanted)
                if (scope or "") != wanted:
                    self._tokens[scope or ""] = self._tokens[wanted]
            else:
                return resp
        return resp  # pragma: no cover - loop always returns

    def get_json(self, path: str, accept: str | None = None, scope: str | None = None,
                 what: str | None = None) -> tuple[Response, Any]:
        resp = self.request("GET", path, accept, scope)
        what = what or urllib.parse.urlsplit(path).path
        check(resp, what)
        if len(resp.body) > MAX_BODY:
            raise RegistryError(f"{what}: response larger than {MAX_BODY // (1024 * 1024)} MiB")
        try:
            return resp, resp.json()
        except ValueError:
            raise RegistryError(f"{what}: response is not JSON ({resp.content_type or 'no type'})",
                                resp.status) from None

    def pages(self, path: str, key: str, scope: str | None, max_pages: int) -> Iterator[list[str]]:
        """Follow ``Link: <...>; rel="next"`` through a paginated list; yields each page."""
        url: str | None = self.base + path
        what = "GET " + urllib.parse.urlsplit(path).path
        # a repeated next link ends the listing like the page limit: what was read is used
        guard = PageGuard(what, max_pages=max_pages + 1, error=lambda msg: RegistryError(msg, 0))
        for _ in range(max_pages):
            assert url is not None
            resp, data = self.get_json(url, "application/json", scope, what)
            if not (isinstance(data, dict) and key in data):
                raise RegistryError(f"{what}: answered JSON without {key!r}: not a registry "
                                    "answer", resp.status)
            items = data[key] if data[key] is not None else []
            if not isinstance(items, list):
                raise RegistryError(f"{what}: '{key}' is not a list")
            yield [str(i) for i in items]
            url = next_link(resp.headers, url)
            if not url:
                return
            guard.next(url)
            # Registries behind proxies often name an internal host in Link: keep ours, so
            # credentials only ever go to the configured registry.
            parts = urllib.parse.urlsplit(url)
            url = self.base + parts.path.removeprefix(
                urllib.parse.urlsplit(self.base).path) + ("?" + parts.query if parts.query else "")
        raise RegistryError(f"{what}: stopped after {max_pages} pages", 0)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.rsplit("@", 1)[-1] or url


def check(resp: Response, what: str) -> None:
    """Raise the error a non-2xx response means, with the permission that is missing."""
    if 200 <= resp.status < 300:
        return
    code = _error_code(resp.body)
    suffix = f" {code}" if code else ""
    if resp.status == 401:
        raise Unauthorized(f"{what}: HTTP 401{suffix} (login missing or rejected)", 401)
    if resp.status == 403:
        raise Unauthorized(f"{what}: HTTP 403{suffix} (needs pull permission)", 403)
    if resp.status == 404:
        raise NotFound(f"{what}: HTTP 404{suffix}", 404)
    if resp.status == 429:
        raise RegistryError(f"{what}: HTTP 429 rate limited", 429)
    raise RegistryError(f"{what}: HTTP {resp.status}{suffix}", resp.status)
