"""A read-only Distribution v2 / OCI client on the shared transport: GET and HEAD only.

Authentication as Docker clients do it: anonymous first; on ``401`` the
``WWW-Authenticate`` challenge decides — ``Basic`` sends the credentials, ``Bearer``
fetches a token from the realm for the scope (``repository:<name>:pull``,
``registry:catalog:*``) and retries. Tokens are cached per scope and registered as
secrets. Deadlines, body caps, retries, the redirect policy (blob storage redirects are
followed, ``Authorization`` never goes to another host) and request counting are the
transport's (:mod:`auditor.http`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import (
    AccessDenied,
    Forbidden,
    ListingCut,
    NotFound,
    NotThisApi,
    ProbeError,
    RateLimited,
)
from auditor.http import Credentials, Response, Transport, host_of
from auditor.limits import PageGuard
from auditor.redact import register_secret

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.IGNORECASE)

#: a login missing, refused or not allowed to pull: the two shared errors it can be
Refused = (AccessDenied, Forbidden)

__all__ = ["Challenge", "RegistryClient", "Refused", "Response", "check", "next_link",
           "parse_challenge"]


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


def next_link(headers: Any, base: str) -> str | None:
    values = headers.get_all("Link") if hasattr(headers, "get_all") else [headers.get("Link")]
    for value in values or []:
        if not value:
            continue
        m = _LINK_NEXT.search(value)
        if m:
            return urllib.parse.urljoin(base, m.group(1))
    return None


def _error_code(body: bytes) -> str:
    """The distribution error code (``NAME_UNKNOWN``, ``DENIED``...) when the body has one."""
    import json

    try:
        errors = json.loads(body).get("errors") or []
        return str(errors[0].get("code", "")) if errors else ""
    except (ValueError, AttributeError, TypeError, IndexError):
        return ""


class RegistryClient:
    def __init__(self, base_url: str, credentials: Credentials | None,
                 transport: Transport) -> None:
        self.base = base_url.rstrip("/")
        self.creds = credentials
        self.transport = transport
        self._mode: str | None = "bearer-static" if credentials and credentials.token else None
        self._realm: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    @property
    def log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request this probe run sent (the probe context's)."""
        return self.transport.requests.entries

    def _send(self, method: str, url: str, headers: dict[str, str]) -> Response:
        return self.transport.send(method, url, headers=headers)

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
            raise AccessDenied(f"the auth realm {realm!r} in the registry's challenge is not a URL")
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(
            {k: v for k, v in params.items() if v})
        headers = {"Accept": "application/json"}
        basic = self.creds.basic if self.creds else None
        if basic:
            headers["Authorization"] = basic
        resp = self._send("GET", url, headers)
        if resp.status in (401, 403):
            who = f"the login from {self.creds.source}" if basic and self.creds else "anonymous access"
            raise AccessDenied(f"the registry's auth service {_host(url)} refused {who} for "
                               f"{scope or 'the registry'} (HTTP {resp.status})", status=resp.status)
        if resp.status != 200:
            raise AccessDenied(f"the registry's auth service {_host(url)} answered HTTP "
                               f"{resp.status}", status=resp.status)
        try:
            data = resp.json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AccessDenied(f"the registry's auth service {_host(url)} returned no token")
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
            challenge = parse_challenge(resp.get_all("WWW-Authenticate"))
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
        try:
            return resp, resp.json()
        except ValueError:
            raise NotThisApi(f"{what}: response is not JSON ({resp.content_type or 'no type'})",
                             status=resp.status) from None

    def pages(self, path: str, key: str, scope: str | None, max_pages: int) -> Iterator[list[str]]:
        """Follow ``Link: <...>; rel="next"`` through a paginated list; yields each page."""
        url: str | None = self.base + path
        what = "GET " + urllib.parse.urlsplit(path).path
        # a repeated next link ends the listing like the page limit: what was read is used
        guard = PageGuard(what, max_pages=max_pages + 1, error=ListingCut)
        for _ in range(max_pages):
            assert url is not None
            resp, data = self.get_json(url, "application/json", scope, what)
            if not (isinstance(data, dict) and key in data):
                raise NotThisApi(f"{what}: answered JSON without {key!r}: not a registry "
                                 "answer", status=resp.status)
            items = data[key] if data[key] is not None else []
            if not isinstance(items, list):
                raise NotThisApi(f"{what}: '{key}' is not a list")
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
        raise ListingCut(f"{what}: stopped after {max_pages} pages")


def _host(url: str) -> str:
    return host_of(url)


def check(resp: Response, what: str) -> None:
    """Raise the error a non-2xx response means, with the permission that is missing."""
    if 200 <= resp.status < 300:
        return
    code = _error_code(resp.body)
    suffix = f" {code}" if code else ""
    if resp.status == 401:
        raise AccessDenied(f"{what}: HTTP 401{suffix} (login missing or rejected)", status=401)
    if resp.status == 403:
        raise Forbidden(f"{what}: HTTP 403{suffix} (needs pull permission)", status=403)
    if resp.status == 404:
        raise NotFound(f"{what}: HTTP 404{suffix}", status=404)
    if resp.status == 429:
        raise RateLimited(f"{what}: HTTP 429 rate limited", status=429)
    raise ProbeError(f"{what}: HTTP {resp.status}{suffix}", status=resp.status)
