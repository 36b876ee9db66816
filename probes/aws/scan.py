"""The machinery every service module uses: clients, paging, error capture, emitting.

A :class:`Scan` is one region's (or the account-wide) view. Service modules call
``scan.pages(...)`` / ``scan.call(...)``; a failed call becomes one ``Unobserved`` naming the
IAM action and the signals it would have fed, and the module simply gets no items.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.limits import PageGuard
from auditor.probe import ProbeContext, Target
from probes.aws.actions import CALLS, iam_action
from probes.aws.errors import classify
from probes.aws.session import make_client
from probes.aws.settings import AwsSettings

Item = Evidence | Unobserved

#: largest page size each paginated operation accepts (fewest calls per listing)
PAGE_SIZES: dict[str, int] = {
    "DescribeAlarms": 100, "ListRules": 100, "ListTargetsByRule": 100, "ListSchedules": 100,
    "ListPipelines": 100, "DescribeRepositories": 1000, "ListImages": 1000, "ListRoles": 1000,
    "DescribeScalableTargets": 50, "DescribeBudgets": 100, "ListCostAllocationTags": 1000,
    "LookupEvents": 50, "ListBuckets": 10000,
}
SAGEMAKER_PAGE = 100


class Stopped(Exception):
    """The audit is out of time or cancelled; workers stop at the next call."""


@dataclass
class Env:
    """What every region's scan shares. Thread-safe where it is written from workers."""

    settings: AwsSettings
    target: Target
    ctx: ProbeContext
    session: Any
    config: Any
    account: str
    partition: str
    emit: Callable[[Item], None]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: counters summed across regions (training jobs in the window, ...)
    stats: Counter = field(default_factory=Counter)
    #: region -> (count of regional resources, a representative ARN)
    regions_used: dict[str, list] = field(default_factory=lambda: defaultdict(lambda: [0, ""]))
    seen: set[str] = field(default_factory=set)
    ages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def window(self) -> datetime:
        return self.now - timedelta(days=self.settings.recent_days)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self.lock:  # boto3 sessions are not thread-safe; clients are
            if key not in self.clients:
                self.clients[key] = make_client(self.session, service, region, self.settings,
                                                self.config)
            return self.clients[key]

    def first_time(self, key: str) -> bool:
        """True once per key across all regions (for account-wide things seen from each)."""
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
            return True

    def count(self, **amounts: int) -> None:
        with self.lock:
            self.stats.update(amounts)


class Scan:
    def __init__(self, env: Env, region: str) -> None:
        self.env = env
        self.region = region
        #: False after the last ``pages``/``call`` failed (so counts built from it are partial)
        self.ok = True

    # -- calls -------------------------------------------------------------------------
    def _guard(self) -> None:
        if self.env.stop.is_set() or self.env.ctx.remaining() <= 0:
            raise Stopped()

    def _failed(self, service: str, op: str, exc: BaseException, signals: Sequence[str],
                what: str = "") -> None:
        self.ok = False
        action = iam_action(service, op)
        failure = classify(exc, action, self.env.settings.endpoint_url,
                           self.env.settings.max_attempts)
        self.env.emit(self.env.ctx.unobserved(
            self.env.target, what=what or f"{action} in {self.region}", reason=failure.reason,
            signals=signals))

    def pages(self, service: str, op: str, key: str, signals: Sequence[str] = (),
              max_items: int | None = None, page_size: int | None = None,
              what: str = "", quiet: Sequence[str] = (), **params: Any) -> Iterator[dict]:
        """Items under ``key`` across all pages of ``op``, at the largest page size.

        ``quiet``: error codes that only mean "not available here" (no Unobserved)."""
        assert (service, op) in CALLS, f"{service}:{op} is not in probes.aws.actions.CALLS"
        from botocore import xform_name

        self._guard()
        self.ok = True
        client = self.env.client(service, self.region)
        size = page_size or PAGE_SIZES.get(op) or (SAGEMAKER_PAGE if service == "sagemaker" else None)
        config: dict[str, Any] = {}
        if size and service != "codebuild":
            config["PageSize"] = size
        if max_items:
            config["MaxItems"] = max_items
        # botocore stops on a token repeated at once; this also stops a cycle of tokens and
        # a listing far longer than any account holds
        guard = PageGuard(f"{iam_action(service, op)} in {self.region}")
        try:
            paginator = client.get_paginator(xform_name(op))
            for page in paginator.paginate(**params, PaginationConfig=config):
                yield from page.get(key) or []
                self._guard()
                token = _next_token(page)
                if token:
                    guard.next(token)
        except Stopped:
            raise
        except Exception as exc:  # one failed listing never stops the others
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code and code in quiet:
                self.ok = False
                return
            self._failed(service, op, exc, signals, what)

    def call(self, service: str, op: str, signals: Sequence[str] = (), what: str = "",
             quiet: Sequence[str] = (), **params: Any) -> dict | None:
        """One non-paginated call; None when it failed (already reported).

        ``quiet``: error codes that are an answer, not a failure (``NoSuchBucketPolicy`` ...).
        """
        assert (service, op) in CALLS, f"{service}:{op} is not in probes.aws.actions.CALLS"
        from botocore import xform_name
        from botocore.exceptions import ClientError

        self._guard()
        self.ok = True
        client = self.env.client(service, self.region)
        try:
            return getattr(client, xform_name(op))(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in quiet:
                return {"_error": code}
            self._failed(service, op, exc, signals, what)
        except Exception as exc:
            self._failed(service, op, exc, signals, what)
        return None

    # -- results -----------------------------------------------------------------------
    def evidence(self, signal: str, strength: Strength, locator: str, excerpt: str = "",
                 regional: bool = True, **attributes: Any) -> None:
        attrs = dict(attributes)
        if regional:
            attrs.setdefault("region", self.region)
            with self.env.lock:
                used = self.env.regions_used[self.region]
                used[0] += 1
                used[1] = used[1] or locator
        self.env.emit(self.env.ctx.evidence(self.env.target, signal, strength, locator, attrs,
                                            excerpt))

    def unobserved(self, what: str, reason: str, signals: Sequence[str] = ()) -> None:
        self.env.emit(self.env.ctx.unobserved(self.env.target, what, reason, signals))

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        reg = self.region if region is None else region
        return f"arn:{self.env.partition}:{service}:{reg}:{self.env.account}:{resource}"

    def recent(self, when: Any) -> bool:
        return isinstance(when, datetime) and _aware(when) >= self.env.window


def _next_token(page: dict) -> tuple[str, ...]:
    """The page's continuation values (``NextToken``, ``NextMarker``, ``Marker`` ...)."""
    return tuple(str(v) for k, v in sorted(page.items())
                 if isinstance(v, str) and v and ("token" in k.lower() or "marker" in k.lower()))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def capped(items: Sequence[Any], limit: int = 20) -> list[Any]:
    return list(items)[:limit]
