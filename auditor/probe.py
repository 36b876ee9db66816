"""The probe interface. A probe knows one target kind and reports what it sees, read-only.

Probes are found through the entry-point group ``mlops_auditor.probes``; the built-in ones
are registered there the same way a third-party plugin is (see pyproject.toml).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import types
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from auditor.evidence import Evidence, Strength, Unobserved

#: values of pydantic's own switch that turn every pydantic plugin off
_PLUGINS_OFF = ("__all__", "1", "true")


def _without_pydantic_plugins() -> None:
    """Switch pydantic plugins off for the auditor's process, before any validator is built.

    The first validator pydantic builds looks for plugins: it imports ``importlib.metadata``
    (and the e-mail parser behind it) and reads the entry points of every installed
    distribution, some 30 ms of every run. The auditor uses no pydantic plugin, and one would
    be handed every value validated, audit.yaml's expanded ``${VAR}`` credentials included.
    So ``PYDANTIC_DISABLE_PLUGINS`` (pydantic's own switch) is set unless the user set it;
    while it switches every plugin off, pydantic's plugin loader would import
    ``importlib.metadata`` only to find none, so it is replaced by one that finds none
    without it (its only use, ``get_plugins``, answers ``()`` then either way)."""
    if os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__") not in _PLUGINS_OFF:
        return
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        loader = types.ModuleType(name, "pydantic plugins: none (see auditor.probe)")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules[name] = loader


_without_pydantic_plugins()

#: excerpts longer than this are cut (with "…"); the same for every probe
EXCERPT_CHARS = 200


class ProbeCancelled(Exception):
    """Raised inside a probe (by ``ctx.check()``) once its time is up or the audit stops."""


class Settings(BaseModel):
    """Base for a probe's kind-specific target settings. Unknown keys are errors."""

    # built on first validation: loading a probe (to ask it about a CLI argument, to list
    # it) does not pay for a validator it may never use
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to audit: its name, its kind (which probe reads it), labels (``team``) and the
    probe's validated settings."""

    name: str
    kind: str
    labels: dict[str, str] = field(default_factory=dict)
    settings: Any = None
    timeout: float | None = None

    @property
    def team(self) -> str | None:
        return self.labels.get("team")


@dataclass(frozen=True)
class Policy:
    """Organisation rules some signals are judged against (data residency, ...)."""

    allowed_regions: tuple[str, ...] = ()


@dataclass
class RequestLog:
    """Requests one probe run sent, whatever client sent them (the benchmarks and tests read
    it): ``count``, ``bytes`` of answers read where the client knows, and ``entries``
    ``(method, path)`` in order."""

    count: int = 0
    bytes: int = 0
    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, method: str, what: str) -> None:
        """One request: ``what`` is a URL (its path is kept), a path, or an API operation
        (``sagemaker:ListEndpoints``)."""
        from urllib.parse import urlsplit

        self.count += 1
        self.entries.append((method, urlsplit(what).path if "://" in what else what))


def _kept(value: Any) -> bool:
    """The empty-value rule of every probe: an attribute that is None, an empty list or an
    empty mapping says nothing and is left out (``False``, ``0`` and ``""`` are facts)."""
    return value is not None and not (isinstance(value, list | tuple | dict) and not value)


def make_evidence(target: str, signal: str, strength: Strength | str, locator: str,
                  attributes: dict[str, Any] | None = None, excerpt: str = "") -> Evidence:
    """Evidence as every probe builds it: empty attributes left out (:func:`_kept`), the
    excerpt stripped and at most :data:`EXCERPT_CHARS` characters (a longer one ends in
    "…"). Lines inside an excerpt are kept: a multi-line step reads as it was written."""
    attrs = {k: v for k, v in (attributes or {}).items() if _kept(v)}
    text = (excerpt or "").strip()
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return Evidence(signal=signal, strength=Strength.parse(strength), target=target,
                    locator=locator, attributes=attrs, excerpt=text)


@dataclass
class ProbeContext:
    """What a probe is given for one target: the clock, timeout and cancellation, the policy, the
    cache folder and the logger."""

    probe: str
    cache_dir: Path
    policy: Policy = field(default_factory=Policy)
    timeout: float = 300.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    cancel: threading.Event = field(default_factory=threading.Event)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("mlops_auditor.probe"))
    started: float = field(default_factory=time.monotonic)
    #: also yield :class:`~auditor.evidence.Holdings` (what the target holds that others may
    #: refer to), for links resolved later from stored evidence; ``collect`` sets it
    holdings: bool = False
    #: every request this run sent (see :class:`RequestLog`)
    requests: RequestLog = field(default_factory=RequestLog)
    #: targets of this probe in the run: a probe may read a fleet differently from one target
    #: (the git probe reads many local repositories in-process, see ``probes.git.in_process``)
    fleet: int = 1

    def remaining(self) -> float:
        """Seconds left before this probe's timeout; use it to bound network calls. A probe
        that was cancelled (abandoned after its timeout, or the audit is stopping) has none,
        so a call waiting on it ends at the next look."""
        if self.cancel.is_set():
            return 0.0
        return max(0.0, self.timeout - (time.monotonic() - self.started))

    def check(self) -> None:
        """Call between units of work: stops the probe once its time is up."""
        if self.cancel.is_set() or self.remaining() <= 0:
            raise ProbeCancelled(f"timed out after {self.timeout:g}s")

    def evidence(self, target: Target, signal: str, strength: Strength | str, locator: str,
                 attributes: dict[str, Any] | None = None, excerpt: str = "") -> Evidence:
        """The one evidence builder (see :func:`make_evidence`)."""
        return make_evidence(target.name, signal, strength, locator, attributes, excerpt)

    def unobserved(
        self, target: Target, what: str, reason: str, signals: Sequence[str] = ()
    ) -> Unobserved:
        return Unobserved(target=target.name, probe=self.probe, what=what, reason=reason,
                          signals=tuple(signals))


class Probe(ABC):
    """Subclass, set the class attributes, implement :meth:`collect`."""

    #: target kind this probe audits (``git``, ``mlflow`` ...)
    kind: ClassVar[str]
    #: signal prefixes this probe can emit; a failed probe makes capabilities using them unknown
    signals: ClassVar[tuple[str, ...]] = ()
    #: pydantic model of the kind-specific target settings
    settings_model: ClassVar[type[Settings]] = Settings
    #: one line for ``mlops-auditor probes``
    description: ClassVar[str] = ""
    default_timeout: ClassVar[float] = 300.0
    #: True when each target is one ML project (a repository) that gets its own placement;
    #: False for platform sources (clusters, accounts, servers) that serve a team or everyone
    project: ClassVar[bool] = False
    #: capability ids whose absence this probe's silence shows, beyond the catalog's
    #: ``observable_from`` (which names built-in kinds); ``"*"`` for every capability
    observes: ClassVar[tuple[str, ...]] = ()
    #: the kinds of link key :meth:`resolve_links` can answer (``("commit",)``): the second
    #: pass skips a probe when no key of these kinds was referenced; empty means any kind
    resolves: ClassVar[tuple[str, ...]] = ()

    @property
    def name(self) -> str:
        return self.kind

    def prepare(self) -> None:
        """Import the heavy client libraries this probe needs (``kubernetes``, ``mlflow``,
        ``boto3`` ...). The runner calls it once per probe class, from one thread, before any
        target's thread starts: the same module imported for the first time from several
        threads at once can fail half-initialised. Raise to mark every target of this kind
        as not observed. Default: nothing to import."""
        return None

    @abstractmethod
    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        """Yield evidence as it is found. Never write to the target. Never raise for one
        bad item: yield an Unobserved for it and go on."""

    def resolve_links(
        self, target: Target, ctx: ProbeContext, keys: Sequence[str]
    ) -> Iterator[Evidence]:
        """Second pass: other sources refer to ``keys`` (``commit:<sha>`` ...); yield evidence
        whose ``link_keys`` name those this target holds. Default: nothing.

        A probe that implements this should also, when ``ctx.holdings`` is set, yield from
        :meth:`collect` one :class:`~auditor.evidence.Holdings` listing what it holds, and
        build this evidence with :meth:`Holdings.evidence`: ``assess`` then resolves keys
        referenced from other shards to the same evidence, without the target."""
        return iter(())

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """A CLI positional argument this probe understands, as target settings, or None."""
        return None
