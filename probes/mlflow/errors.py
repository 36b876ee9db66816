"""Failures worth a one-line reason, and how to phrase any exception as one."""

from __future__ import annotations


class ProbeFailure(Exception):
    """A request failed in a way the user can act on; ``str()`` is the one-line reason."""

    #: the whole server is out of reach (stop), versus one listing failing (go on)
    fatal: bool = False


class Unreachable(ProbeFailure):
    fatal = True


class TimedOut(ProbeFailure):
    fatal = True


class AccessDenied(ProbeFailure):
    fatal = True

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotMlflow(ProbeFailure):
    """The URL answers, but not like an MLflow tracking server (HTML, someone else's JSON)."""

    fatal = True


class ApiError(ProbeFailure):
    """The server answered with an MLflow error (unsupported endpoint, bad request ...)."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def classify_transport(exc: BaseException, host: str, timeout: float) -> ProbeFailure:
    """Turn a requests/urllib3/MLflow transport exception into a short, credential-free reason."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if names & {"ReadTimeout", "ConnectTimeout", "Timeout", "ReadTimeoutError",
                "ConnectTimeoutError", "TimeoutError"} or "timed out" in text or "timeout" in text:
        return TimedOut(f"{host} did not answer within {timeout:g}s (timed out)")
    if "name or service not known" in text or "nodename nor servname" in text \
            or "failed to resolve" in text or "temporary failure in name resolution" in text:
        return Unreachable(f"{host} is unreachable: the host name does not resolve")
    if "connection refused" in text:
        return Unreachable(f"{host} is unreachable: connection refused")
    if "ssl" in text or "certificate" in text:
        return Unreachable(f"{host} is unreachable: TLS handshake failed (certificate or protocol)")
    if names & {"ConnectionError", "NewConnectionError", "MaxRetryError", "ProtocolError",
                "RemoteDisconnected", "ConnectionResetError"}:
        return Unreachable(f"{host} is unreachable: the connection failed ({type(chain[-1]).__name__})")
    return ApiError(f"request to {host} failed: {type(chain[-1]).__name__}")
