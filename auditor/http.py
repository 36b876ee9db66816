"""The one HTTP transport of the probes that speak raw HTTP (OCI registries, Prometheus and
Alertmanager, and any plugin that needs it), on ``requests``.

What every request gets, whoever sends it:

- a deadline: ``min(request_timeout, the probe's remaining time)``, for connecting, for
  each read and for the whole body (a server dripping bytes is cut off);
- a size cap: the body is streamed and read up to ``max_response_bytes``
  (:func:`auditor.limits.read_capped`), a larger one raises :class:`~auditor.errors.TooLarge`;
- a redirect policy: never followed (a redirect is returned, for the caller to report a
  login page or proxy), or followed without ever carrying ``Authorization`` to another host
  or from https to http (``requests`` strips it; the client's own headers are re-checked);
- credentials from the environment, named in settings (``token_env``, ``username_env`` /
  ``password_env``, or userinfo in the URL), registered as secrets the moment they are read;
- retries with exponential backoff for 429 and 5xx on GET/HEAD, within the deadline
  (``Retry-After`` honoured up to the time left);
- a count on the probe context (``ctx.requests``) that benchmarks and tests read.

Network failures become :class:`~auditor.errors.Unreachable` / :class:`~auditor.errors.TimedOut`
with :func:`~auditor.errors.network_reason`; every HTTP status is returned, for the caller to
phrase. ``requests`` is imported on first use, so importing a probe stays cheap.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, model_validator

from auditor.errors import TimedOut, TooLarge, transport_error
from auditor.limits import MAX_RESPONSE_BYTES, ResponseTooLarge, read_capped
from auditor.probe import RequestLog, Settings
from auditor.redact import register_secret

if TYPE_CHECKING:  # pragma: no cover - typing only
    from auditor.probe import ProbeContext

log = logging.getLogger("mlops_auditor.config")

USER_AGENT = "mlops-auditor"
#: statuses worth another try (after a pause); everything else is the server's final word
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD"})

#: old setting names still accepted, with a deprecation message: old -> new
DEPRECATED_NAMES = {
    "bearer_token_env": "token_env",
    "alertmanager_bearer_token_env": "alertmanager_token_env",
    "ca_bundle": "ca_file",
}


class HttpSettings(Settings):
    """The connection settings every HTTP target shares (one vocabulary across probes).

    Credentials are never written in audit.yaml: the ``*_env`` keys name environment
    variables that hold them.
    """

    #: environment variable holding a bearer token
    token_env: str | None = None
    #: environment variables holding a basic-auth user name and password
    username_env: str | None = None
    password_env: str | None = None
    #: seconds one HTTP request may take (further bounded by the probe's time left)
    request_timeout: float = Field(default=30.0, gt=0)
    #: largest answer read from one request, in bytes
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, ge=1024)
    #: further attempts after a 429 or 5xx answer (GET and HEAD only), with backoff
    max_retries: int = Field(default=2, ge=0, le=10)
    verify_tls: bool = True
    #: PEM bundle of a private CA
    ca_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for old, new in DEPRECATED_NAMES.items():
            if old in data and new in cls.model_fields:
                log.warning("setting %r is deprecated: use %r (the old name still works)",
                            old, new)
                value = data.pop(old)
                data.setdefault(new, value)
        return data


@dataclass(frozen=True)
class Credentials:
    """A login read from the environment: a bearer token or a user and password."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    #: where they came from, for reasons (``env REG_USER/REG_PASS``, a config path)
    source: str = ""

    @property
    def basic(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        value = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        register_secret(value)
        return "Basic " + value

    @property
    def header(self) -> str | None:
        """The ``Authorization`` value: the token wins over user and password."""
        return f"Bearer {self.token}" if self.token else self.basic

    @classmethod
    def from_env(cls, token_env: str | None, username_env: str | None,
                 password_env: str | None,
                 env: Mapping[str, str] | None = None) -> tuple[Credentials | None, list[str]]:
        """Credentials from named variables, and a note for each named variable not set."""
        env = os.environ if env is None else env
        notes: list[str] = []
        if token_env:
            token = env.get(token_env) or ""
            register_secret(token)
            if token:
                return cls(token=token, source=f"env {token_env}"), notes
            notes.append(f"environment variable {token_env} (token_env) is not set")
        if username_env or password_env:
            user = env.get(username_env or "") or ""
            password = env.get(password_env or "") or ""
            register_secret(password)
            if user and password:
                return cls(username=user, password=password,
                           source=f"env {username_env}/{password_env}"), notes
            missing = [n for n, v in ((username_env, user), (password_env, password))
                       if n and not v]
            notes.append("environment variables not set: "
                         + ", ".join(missing or ["username_env/password_env"]))
        return None, notes


def split_userinfo(url: str) -> tuple[str, Credentials | None]:
    """``https://u:p@host/x`` → (``https://host/x``, their credentials); the password is
    registered as a secret."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    register_secret(password)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), Credentials(
        username=user, password=password, source="the URL")


def host_of(url: str) -> str:
    """``host[:port]`` without credentials, for locators and reasons."""
    parts = urlsplit(url)
    host = parts.hostname or "unknown"
    return f"{host}:{parts.port}" if parts.port else host


@dataclass
class Response:
    status: int
    headers: Any  # case-insensitive mapping with .get
    body: bytes
    url: str
    #: the redirects followed to get here, as (status, url)
    history: tuple[tuple[int, str], ...] = ()

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()

    def get_all(self, name: str) -> list[str]:
        """Every value of a header (``requests`` folds repeated headers with ``, ``)."""
        value = self.headers.get(name)
        return [value] if value else []


class Transport:
    """Requests to one server for one probe run. See the module docstring."""

    def __init__(self, ctx: ProbeContext, *, timeout: float, max_bytes: int,
                 verify_tls: bool = True, ca_file: str | None = None, max_retries: int = 2,
                 follow_redirects: bool = False, backoff: float = 0.5) -> None:
        self.ctx = ctx
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_retries = max_retries
        self.follow_redirects = follow_redirects
        self.backoff = backoff
        self.verify: bool | str = (ca_file or True) if verify_tls else False
        self._session: Any = None

    @classmethod
    def for_settings(cls, ctx: ProbeContext, settings: HttpSettings, *,
                     follow_redirects: bool = False) -> Transport:
        return cls(ctx, timeout=settings.request_timeout, max_bytes=settings.max_response_bytes,
                   verify_tls=settings.verify_tls, ca_file=settings.ca_file,
                   max_retries=settings.max_retries, follow_redirects=follow_redirects)

    @property
    def requests(self) -> RequestLog:
        return self.ctx.requests

    def _budget(self) -> float:
        return min(self.timeout, self.ctx.remaining())

    def _open(self) -> Any:
        if self._session is None:
            import requests

            session = requests.Session()
            # no ~/.netrc (it would replace the Authorization the target names); proxies
            # from the environment are still honoured per request, as urllib did
            session.trust_env = False
            session.headers["User-Agent"] = USER_AGENT
            if self.verify is False:
                import urllib3

                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
             params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
             what: str | None = None) -> Response:
        """One request (with retries for 429/5xx); every HTTP status is returned. Raises
        TimedOut / Unreachable for network failures and TooLarge for an oversized body."""
        what = what or f"{method} {urlsplit(url).path}"
        attempt = 0
        while True:
            resp = self._once(method, url, headers or {}, params, what)
            if (resp.status not in RETRY_STATUSES or method not in RETRY_METHODS
                    or attempt >= self.max_retries):
                return resp
            pause = self._pause(resp, attempt)
            if pause is None:
                return resp
            time.sleep(pause)
            attempt += 1

    def _pause(self, resp: Response, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when no time is left for it."""
        pause = self.backoff * (2 ** attempt)
        after = resp.headers.get("Retry-After")
        if after and str(after).strip().isdigit():
            pause = max(pause, float(after))
        left = self.ctx.remaining()
        return pause if pause < left / 2 else None

    def _once(self, method: str, url: str, headers: Mapping[str, str],
              params: Any, what: str) -> Response:
        import requests

        budget = self._budget()
        if budget <= 0:
            raise TimedOut(f"{what}: no time left in the probe's budget")
        session = self._open()
        self.ctx.requests.add(method, url)
        deadline = time.monotonic() + budget
        try:
            raw = session.request(method, url, headers=dict(headers), params=params,
                                  timeout=(min(budget, 10.0), budget), stream=True,
                                  allow_redirects=self.follow_redirects, verify=self.verify,
                                  proxies=requests.utils.get_environ_proxies(url))
        except requests.RequestException as exc:
            raise transport_error(exc, host_of(url), budget) from None
        except (OSError, ValueError) as exc:
            raise transport_error(exc, host_of(url), budget) from None
        try:
            body = b"" if method == "HEAD" else self._read(raw, deadline, what)
        except (requests.RequestException, OSError) as exc:
            raise transport_error(exc, host_of(url), budget) from None
        finally:
            raw.close()
        history = tuple((r.status_code, r.url) for r in raw.history)
        return Response(raw.status_code, raw.headers, body, raw.url, history)

    def _read(self, raw: Any, deadline: float, what: str) -> bytes:
        chunks = raw.iter_content(64 * 1024)

        def read(_n: int) -> bytes:
            if time.monotonic() > deadline:
                raise TimedOut(f"{what}: answer not complete within the timeout")
            part = next(chunks, b"")
            self.ctx.requests.bytes += len(part)
            return part

        try:
            return read_capped(read, self.max_bytes, what)
        except ResponseTooLarge as exc:
            raise TooLarge(str(exc)) from None
