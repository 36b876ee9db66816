"""One error vocabulary for every probe: what failed, in one line, whether the whole source
is out of sight, and which signals the failure hides.

A probe raises :class:`ProbeError` (or a subclass) from its client code and catches it where
an *area* of work ends (one listing, one endpoint, one region): :func:`guarded` turns a
failed area into an ``Unobserved`` for that area's signals and lets a fatal error end the
target. :func:`network_reason` phrases any transport exception (``requests``, ``urllib3``,
``urllib``, ``botocore``, plain ``OSError``) the same way for every probe.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

if TYPE_CHECKING:  # pragma: no cover - typing only
    from auditor.probe import ProbeContext, Target

T = TypeVar("T")


class ProbeError(Exception):
    """A request or read failed in a way the user can act on; ``reason`` is one line.

    ``fatal``: no other request to this source can succeed either (unreachable, refused
    login, not this kind of API) — stop the target. ``signals``: the prefixes the failure
    hides (empty: the area's own). ``status``: the HTTP status, when there was one.
    """

    fatal: ClassVar[bool] = False
    #: a short machine word for tests and callers that branch on the kind of failure
    kind: ClassVar[str] = "error"

    def __init__(self, reason: str, *, status: int | None = None,
                 signals: Sequence[str] = (), fatal: bool | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.signals = tuple(signals)
        if fatal is not None:  # this one failure says more (or less) than its kind
            self.fatal = fatal  # type: ignore[misc]

    def __str__(self) -> str:
        return self.reason


class Unreachable(ProbeError):
    """Connection refused, host name not resolving, TLS failed: the source is out of sight."""

    fatal = True
    kind = "unreachable"


class TimedOut(Unreachable):
    """No answer within the request's deadline (or the probe's time is up)."""

    kind = "timeout"


class AccessDenied(ProbeError):
    """401: the login is missing or refused. Fatal: nothing else will be readable either."""

    fatal = True
    kind = "auth"


class Forbidden(ProbeError):
    """403 on one resource: this login may not read it; other resources may be readable."""

    kind = "forbidden"


class NotFound(ProbeError):
    kind = "not_found"


class NotThisApi(ProbeError):
    """The URL answers, but not like the API the target names (a login page, another
    service's JSON): saying "nothing found" would accuse the audited of an absence."""

    fatal = True
    kind = "not_api"


class TooLarge(ProbeError):
    """One answer passed its size cap (``max_response_bytes``); it was not read."""

    kind = "too_large"


class ListingCut(ProbeError):
    """A listing stopped before its end (page limit, a repeated next-page token): what was
    read is usable, the rest is unknown."""

    kind = "listing_cut"


class RateLimited(ProbeError):
    """429 after the retries: try later."""

    kind = "rate_limited"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes (``requests`` wraps ``urllib3`` wraps ``OSError``)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and all(cur is not s for s in seen) and len(seen) < 10:
        seen.append(cur)
        nxt = getattr(cur, "reason", None)
        if isinstance(nxt, BaseException) and all(nxt is not s for s in seen):
            seen.append(nxt)
        cur = cur.__cause__ or cur.__context__
    return seen


_TIMEOUT_NAMES = frozenset({"ReadTimeout", "ConnectTimeout", "Timeout", "ReadTimeoutError",
                            "ConnectTimeoutError", "TimeoutError", "timeout"})
_CONNECTION_NAMES = frozenset({"ConnectionError", "NewConnectionError", "MaxRetryError",
                               "ProtocolError", "RemoteDisconnected", "ConnectionResetError",
                               "ChunkedEncodingError", "IncompleteRead",
                               "EndpointConnectionError", "ConnectionClosedError"})


def network_reason(exc: BaseException) -> str:
    """A short, credential-free phrase for a transport failure: ``connection refused``,
    ``timed out``, ``host name does not resolve``, ``TLS verification failed``,
    ``connection reset by the server``, else the innermost exception's type name."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate" in text \
            or "ssl" in names or "SSLError" in names or "[ssl" in text:
        return "TLS verification failed"
    if any(isinstance(e, TimeoutError | socket.timeout) for e in chain) \
            or names & _TIMEOUT_NAMES or "timed out" in text:
        return "timed out"
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in text \
            or "nodename nor servname" in text or "failed to resolve" in text \
            or "temporary failure in name resolution" in text or "name resolution" in text:
        return "host name does not resolve"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset by peer" in text:
        return "connection reset by the server"
    if names & _CONNECTION_NAMES:
        return f"the connection failed ({type(chain[-1]).__name__})"
    return type(chain[-1]).__name__


def transport_error(exc: BaseException, host: str, timeout: float | None = None) -> ProbeError:
    """A transport exception as the :class:`ProbeError` it means for ``host`` (one wording
    for every probe: ``no answer within 30s from host (timed out)``, ``host is unreachable:
    connection refused``)."""
    reason = network_reason(exc)
    if reason == "timed out":
        within = f" within {timeout:g}s" if timeout else " in time"
        return TimedOut(f"no answer{within} from {host} (timed out)")
    if reason == type(_chain(exc)[-1]).__name__:  # not a network failure we know
        return ProbeError(f"request to {host} failed: {reason}")
    return Unreachable(f"{host} is unreachable: {reason}")


def guarded(ctx: ProbeContext, target: Target, what: str, signals: Sequence[str],
            work: Callable[[], Iterable[T]]) -> Iterator[T | object]:
    """Run one area of work (a generator factory); a :class:`ProbeError` that is not fatal
    becomes one ``Unobserved`` for ``what`` hiding ``signals`` (or the error's own), and the
    probe goes on. A fatal error propagates: the caller ends the target with it."""
    try:
        yield from work()
    except ProbeError as exc:
        if exc.fatal:
            raise
        yield ctx.unobserved(target, what, exc.reason, exc.signals or signals)
