"""JSON over the shared transport (:mod:`auditor.http`), for Prometheus and Alertmanager.

Redirects are never followed (a redirect to a login page is reported, and credentials are
never forwarded to another host); every failure is an :class:`auditor.errors.ProbeError`
carrying one line a person understands. ``fatal`` says whether other endpoints are worth
trying (unreachable, timed out, login refused, not this API) or only this one failed.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.errors import (
    AccessDenied,
    Forbidden,
    NotFound,
    NotThisApi,
    ProbeError,
)
from auditor.http import Credentials, Transport

#: every failure of this client (the shared base: ``reason``, ``fatal``, ``kind``)
ApiError = ProbeError


class ApiClient:
    """GET JSON from one server, through the probe's transport (which counts requests)."""

    def __init__(self, base_url: str, credentials: Credentials | None, hint: str,
                 transport: Transport) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = credentials.header if credentials else None
        self.hint = hint
        self.transport = transport

    def get_json(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> Any:
        query = urllib.parse.urlencode(list(params.items()) if isinstance(params, Mapping)
                                       else list(params))
        url = self.base_url + path + (f"?{query}" if query else "")
        headers = {"Accept": "application/json"}
        if self.auth:
            headers["Authorization"] = self.auth
        resp = self.transport.send("GET", url, headers=headers, what=path)
        if resp.status >= 300:
            raise self._http_error(resp.status, resp.headers, resp.body, path)
        try:
            return json.loads(resp.body)
        except ValueError:
            kind = resp.content_type or "a non-JSON body"
            raise NotThisApi(f"{path} answered {kind}, not JSON: not this API") from None

    def _http_error(self, code: int, headers: Any, body: bytes, path: str) -> ProbeError:
        if code == 401:
            if self.auth:
                return AccessDenied(f"{path}: 401 Unauthorized — the server refused the "
                                    "configured login", status=401)
            return AccessDenied(f"{path}: 401 Unauthorized — needs a login with read access "
                                f"({self.hint})", status=401)
        if code == 403:
            return Forbidden(f"{path}: 403 Forbidden — this login may not read {path}",
                             status=403)
        if 300 <= code < 400:
            location = urllib.parse.urlsplit(headers.get("Location", "") or "")
            where = f" to {location.netloc}{location.path}" if location.netloc else ""
            return NotThisApi(f"{path}: redirected ({code}){where} — a login page or "
                              "proxy, not the API", status=code)
        if code == 404:
            return NotFound(f"{path}: 404 Not Found", status=404)
        detail = ""
        try:
            payload = json.loads(body[:4096] or b"{}")
            if isinstance(payload, dict):
                detail = str(payload.get("error") or payload.get("message") or "")
        except ValueError:
            pass
        return ProbeError(f"{path}: HTTP {code}" + (f": {detail}" if detail else ""), status=code)

    # -- API envelopes ---------------------------------------------------------------------
    def prom(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> Any:
        """Prometheus's ``{"status": "success", "data": ...}`` envelope, unwrapped."""
        payload = self.get_json(path, params)
        if not (isinstance(payload, dict) and payload.get("status") in ("success", "error")
                and ("data" in payload or "error" in payload)):
            raise NotThisApi(f"{path} answered JSON without Prometheus's status/data "
                             "envelope: not a Prometheus API")
        if payload["status"] != "success":
            raise ProbeError(f"{path}: {payload.get('errorType', 'error')}: "
                             f"{payload.get('error', '')}")
        return payload.get("data")
