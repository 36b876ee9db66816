"""One audit run: probes → evidence → links → engine → the Assessment document.

Two halves that can run apart: :func:`collect` (probes → each target's facts, handed to a
sink as each target finishes: a :class:`~auditor.spool.FactSpool` for ``audit``, evidence
files for ``collect``) and :func:`assess` (a spool of facts → links, engine, placements,
reports' data; no network). ``run_audit`` is both in one process."""

from __future__ import annotations

import getpass
import platform
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

from auditor import __version__, catalog, compliance, inventory, links, output, registry, tempo
from auditor.assessment import Assessment
from auditor.config import AuditConfig
from auditor.engine import Judge, describe_sources
from auditor.evidence import Evidence, Holdings, KeyIndex, Unobserved
from auditor.placement import Placer
from auditor.probe import Policy, Probe, ProbeContext, Target
from auditor.reach import plan
from auditor.runner import Outcome, default_jobs, run_probes
from auditor.spool import FactSpool

SCHEMA_VERSION = "2.0"


def default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlops-auditor"


@dataclass(frozen=True)
class ProbeInfo:
    """What assessment needs to know of a target's probe (kept in its evidence file, so
    ``assess`` does not need the probe, or a plugin, installed)."""

    project: bool = False
    observes: tuple[str, ...] = ()

    @classmethod
    def of(cls, probe: Probe) -> ProbeInfo:
        return cls(bool(getattr(probe, "project", False)), tuple(getattr(probe, "observes", ())))


@dataclass(slots=True)
class TargetFacts:
    """One target's collected facts: what one evidence file holds.

    ``probe`` is None when no probe was installed for its kind; ``index`` is its position in
    the configuration (reports list targets in that order, whichever shard collected them).
    ``holdings`` may be left out by a reader that serves them lazily (see :func:`assess`)."""

    target: Target
    index: int
    probe: ProbeInfo | None
    evidence: list[Evidence] = field(default_factory=list)
    unobserved: list[Unobserved] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    holdings: list[Holdings] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Not read at all: no probe for its kind, or its probe failed or timed out."""
        return self.probe is None or not self.timings or any(t["status"] == "error" for t in self.timings)


class Sink(Protocol):
    """Where ``collect`` puts each target's facts as soon as its probe finishes."""

    def add(self, facts: TargetFacts) -> None: ...

    def extend(self, target: str, evidence: list[Evidence], unobserved: list[Unobserved]) -> None:
        """Second-pass findings (links resolved) for a target already added."""


@dataclass
class CollectStats:
    """What one :func:`collect` gathered (for its summary line) and where its probes ran."""

    targets: int = 0
    evidence: int = 0
    unobserved: int = 0
    failed: list[str] = field(default_factory=list)
    executor: str = "threads"


def _pairs(targets: Sequence[Target]) -> tuple[list[tuple[Target, Probe]], list[Unobserved]]:
    pairs, missing = [], []
    for t in targets:
        probe = registry.probe_for(t.kind)
        if probe is None:
            missing.append(Unobserved(t.name, t.kind, t.kind, f"no probe installed for kind {t.kind!r}"))
        else:
            pairs.append((t, probe))
    return pairs, missing


def _resolve(keys: list[str], probe: Probe, target: Target, ctx: ProbeContext):
    return probe.resolve_links(target, ctx, keys)


def _overrides_resolve(probe: Probe) -> bool:
    return type(probe).resolve_links is not Probe.resolve_links


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen: dict[str, Evidence] = {}
    for ev in evidence:
        seen.setdefault(ev.id, ev)
    return sorted(seen.values(), key=lambda e: (e.target, e.signal, e.locator, e.id))


def collect(
    config: AuditConfig,
    sink: Sink,
    *,
    targets: Sequence[Target] | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    now: datetime | None = None,
    holdings: bool = False,
    executor: str | None = None,
) -> CollectStats:
    """Run every probe over ``targets`` (default: the configuration's), handing each target's
    facts to ``sink`` as soon as its probe finishes, then the second pass: probes that can
    tell whether they hold what this run's evidence refers to (commits) are asked.

    Nothing but the referenced keys and counts is kept here, so memory does not grow with
    the fleet when the sink writes to disk. ``holdings`` makes probes also record what their
    targets hold, so ``assess`` can resolve references made in other shards. ``executor``:
    where probes run (default: the configuration's, else ``auto``; see
    :mod:`auditor.executors`)."""
    now = now or datetime.now(UTC)
    cache_dir = Path(cache_dir or config.settings.cache_dir or default_cache_dir())
    jobs = jobs or config.settings.jobs or default_jobs()
    executor = executor or config.settings.executor
    chosen = list(config.targets if targets is None else targets)
    index = {t.name: i for i, t in enumerate(config.targets)}
    stats = CollectStats(targets=len(chosen))

    pairs, missing = _pairs(chosen)
    by_name = {t.name: t for t in chosen}
    failed = {u.target for u in missing}
    for u in missing:
        stats.unobserved += 1
        sink.add(TargetFacts(by_name[u.target], index[u.target], None, unobserved=[u]))
    keys: set[str] = set()

    infos: dict[str, ProbeInfo] = {}
    #: the strings a timing repeats for every target, held once (a worker's come as copies)
    words = {w: w for w in ("ok", "error", *(p.kind for _, p in pairs))}

    def first(out: Outcome) -> None:
        keys.update(links.referenced_keys(out.evidence))
        stats.evidence += len(out.evidence)
        stats.unobserved += len(out.unobserved)
        if out.failed:
            failed.add(out.target.name)
        target = by_name[out.target.name]  # the configuration's, not a copy a worker sent back
        info = infos.get(out.probe.kind)
        if info is None:
            info = infos[out.probe.kind] = ProbeInfo.of(out.probe)
        timing = {k: words.get(v, v) if isinstance(v, str) else v for k, v in out.timing.items()}
        timing["target"] = target.name
        sink.add(TargetFacts(target, index[target.name], info, out.evidence, out.unobserved,
                             [timing], out.holdings))

    stats.executor = run_probes(pairs, cache_dir=cache_dir, policy=config.policy, jobs=jobs,
               default_timeout=config.settings.timeout, on_done=on_done, now=now,
               holdings=holdings, on_outcome=first, executor=executor).executor

    # Second pass: ask probes that can whether they hold what others refer to (commits ...).
    # A target that failed or timed out is not opened again (a hung host would cost twice).
    kinds = {k.split(":", 1)[0] for k in keys}
    resolvers = [(t, p) for t, p in pairs if _overrides_resolve(p) and t.name not in failed
                 and (not p.resolves or kinds & set(p.resolves))]
    if keys and resolvers:
        def second(out: Outcome) -> None:
            stats.evidence += len(out.evidence)
            stats.unobserved += len(out.unobserved)
            sink.extend(out.target.name, out.evidence, out.unobserved)

        run_probes(resolvers, cache_dir=cache_dir, policy=config.policy, jobs=jobs,
                   default_timeout=config.settings.timeout, work=partial(_resolve, sorted(keys)),
                   now=now, on_outcome=second, executor=executor)
    stats.failed = sorted(failed)
    return stats


def assess(
    collected: FactSpool,
    *,
    now: datetime,
    frameworks: Sequence[str],
    waivers: Sequence[Any] = (),
    strict: bool = False,
    today: date | None = None,
    previous: dict[str, Any] | None = None,
    held: Iterable[Holdings] | None = None,
    run: dict[str, Any] | None = None,
    started: datetime | None = None,
    t0: float | None = None,
    policy: Policy | None = None,
) -> Assessment:
    """The Assessment of collected facts: links, engine, placements and the rest (a mapping
    whose long lists live in a temporary database; ``to_dict()`` gives the plain document:
    see :mod:`auditor.assessment`). No network, no probe.

    Reads each target's evidence from ``collected`` twice and never holds a fleet's: first
    for what links need (evidence that refers or is referred to) and the platform sources'
    evidence, which every project may see; then target by target, by name, to judge each
    project (:class:`~auditor.engine.Judge`), place it (:class:`~auditor.placement.Placer`),
    fold it into inventory, tempo and compliance, and write it to the document.

    ``now`` is the clock the probes measured against (waivers expire against its date unless
    ``today`` is given). ``held``: what targets hold (default: the facts' own holdings),
    read once the referenced keys are known — a reference to something a target holds
    becomes the same evidence its probe's second pass would have given, so links resolve
    across shards. ``run`` adds to the run metadata (config, jobs, where the evidence came
    from); ``started``/``t0`` are when the run began (wall clock, monotonic)."""
    started = started or datetime.now(UTC)
    t0 = time.monotonic() if t0 is None else t0
    today = today or now.date()
    fws = [catalog.load_framework(name) for name in frameworks]
    capabilities = catalog.capabilities()
    heads = collected.collected()
    targets = [f.target for f in heads]
    failed = {f.target.name for f in heads if f.failed}
    unobserved = [u for f in heads for u in f.unobserved]
    project_kinds = {f.target.kind for f in heads if f.probe and f.probe.project}
    observes = {f.target.kind: f.probe.observes for f in heads if f.probe and f.probe.observes}
    projects = {t.name for t in targets if t.kind in project_kinds}

    # First pass: the platform sources' evidence, and what links need of the projects'.
    on_platform, linking, found = _first_pass(collected, targets, projects, failed, held)
    on_platform = {name: _dedupe(evs) for name, evs in on_platform.items()}
    platform_evidence = [ev for evs in on_platform.values() for ev in evs]
    linked = _dedupe(platform_evidence + linking)
    resolved = links.resolve(linked)
    subjects = plan(targets, project_kinds, linked, resolved)
    del linking, linked  # what links needed is in the links now

    unobserved = sorted(set(unobserved), key=lambda u: (u.target, u.probe, u.what, u.reason))
    unseen = {u.target for u in unobserved if u.signals}  # targets seen only in part
    doc = Assessment()
    doc["schema_version"] = SCHEMA_VERSION
    doc["tool"] = {"name": "mlops-auditor", "version": __version__}
    doc["run"] = {
        "id": str(uuid.uuid4()),
        "started_at": started.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "duration_seconds": 0.0,
        "host": platform.node(),  # gethostname(), without importing socket
        "user": _user(),
        "python": platform.python_version(),
        "config": "<arguments>",
        "jobs": 1,
        **(run or {}),
        "strict": strict,
    }
    doc["partial"] = bool(unseen or failed)
    doc["frameworks"] = [{"id": fw.id, "title": fw.title,
                          "stages": [{"number": s.number, "name": s.name,
                                      "requires": list(s.all_requirements())} for s in fw.stages]}
                         for fw in fws]
    doc["targets"] = ({"name": t.name, "kind": t.kind, "labels": dict(t.labels),
                       "status": _status(t.name, failed, unseen)}
                      for t in targets)
    doc["sources"] = describe_sources(capabilities, subjects, platform_evidence)
    for name in ("evidence", "unobserved", "links", "capabilities", "placements", "inventory",
                 "tempo", "compliance", "waivers", "probes"):
        doc[name] = ()  # each part in its place in the document; filled below

    # Second pass, target by target: judged, placed, folded in and written, then let go.
    judge = Judge(capabilities, targets, subjects, platform_evidence, unobserved, resolved,
                  waivers, today, observes)
    placer = Placer(fws, subjects, strict, failed)
    tools = inventory.Inventory(targets, catalog.taxonomy())
    pace = tempo.Tempo(targets)
    position = {t.name: i for i, t in enumerate(targets)}  # tempo rows go in the targets' order
    controls = compliance.Controls(policy)
    for name in sorted(t.name for t in targets):
        evidence = (on_platform[name] if name in on_platform
                    else _dedupe(collected.evidence(name) + found.get(name, [])))
        doc.extend("evidence", (ev.to_dict() for ev in evidence))
        tools.add(evidence)
        doc.extend("tempo", pace.add(name, evidence), position[name])
        controls.add(evidence)
        if name in subjects.projects:
            results = judge.project(name, evidence)
            doc.extend("capabilities", (r.to_dict() for r in results))
            for part, p in enumerate(placer.project(name, results)):
                doc.extend("placements", [p], part)
    rest = judge.rest()
    doc.extend("capabilities", (r.to_dict() for r in rest))
    for part, placed in enumerate(placer.rest(rest)):
        doc.extend("placements", placed, part)
    doc["unobserved"] = (u.to_dict() for u in unobserved)
    doc["links"] = (link.to_dict() for link in resolved)
    doc["inventory"] = tools.result()
    doc.extend("tempo", pace.rest(), len(targets))
    doc["compliance"] = controls.result(rest, unobserved)
    doc["waivers"] = [{"capability": w.capability, "scope": w.scope, "reason": w.reason,
                       "expires": w.expires.isoformat() if w.expires else None,
                       "status": "expired" if w.expires and w.expires < today else "active"}
                      for w in waivers]
    doc["probes"] = sorted((t for f in heads for t in f.timings),
                           key=lambda t: (t["target"], t["probe"]))
    doc["changes"] = output.changes(previous, doc)
    doc["run"]["duration_seconds"] = round(time.monotonic() - t0, 3)
    return doc


def _first_pass(collected: FactSpool, targets: Sequence[Target], projects: set[str],
                failed: set[str], held: Iterable[Holdings] | None,
                ) -> tuple[dict[str, list[Evidence]], list[Evidence], dict[str, list[Evidence]]]:
    """What links are made of: every platform source's evidence (by target), the projects'
    evidence that refers to something or is referred to, and what targets hold that is
    referred to (by target). A project's evidence nobody refers to (a fleet's commits and
    images) is read a target at a time and let go; only the keys referred to are held."""
    on_platform: dict[str, list[Evidence]] = {}
    linking: list[Evidence] = []
    for t in targets:
        if t.name in projects:
            linking += collected.refers(t.name)
        else:
            on_platform[t.name] = collected.evidence(t.name)
    keys = links.referenced_keys(chain(*on_platform.values(), linking))
    found: dict[str, list[Evidence]] = defaultdict(list)
    if keys:  # keys already resolved in their own shard give the same ids: deduplicated
        wanted = set(keys)
        for t in targets:
            if t.name in projects:
                linking += links.referred(collected.referable(t.name), wanted)
        index = KeyIndex(keys)
        for h in (held if held is not None else collected.holdings()):
            if h.target not in failed:
                for ev in h.resolve(index):
                    found[ev.target].append(ev)
    for name, evs in found.items():
        if name in on_platform:
            on_platform[name] = on_platform[name] + evs
        else:
            linking += evs
    return on_platform, linking, found


def run_audit(
    config: AuditConfig,
    *,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    frameworks: Sequence[str] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    today: date | None = None,
    now: datetime | None = None,
    strict: bool | None = None,
    previous: dict[str, Any] | None = None,
    executor: str | None = None,
) -> Assessment:
    """Run every probe over every target and return the Assessment (see :func:`assess`):
    :func:`collect` into a :class:`~auditor.spool.FactSpool`, then :func:`assess`.

    ``now`` fixes the clock probes measure ages and rates against (tests, replays).
    ``strict`` makes unknown capabilities block placement (default: the config's setting).
    ``previous``: the history summary of the previous run; its differences are recorded."""
    started = datetime.now(UTC)
    now = now or started
    t0 = time.monotonic()
    jobs = jobs or config.settings.jobs or default_jobs()
    fw_names = list(frameworks or [config.settings.framework])
    for name in fw_names:
        catalog.load_framework(name)  # an unknown framework fails before any probe runs
    spool = FactSpool()
    stats = collect(config, spool, cache_dir=cache_dir, jobs=jobs, on_done=on_done, now=now,
                    executor=executor)
    return assess(spool, now=now, frameworks=fw_names, waivers=config.waivers,
                  strict=config.settings.strict if strict is None else strict, today=today,
                  previous=previous,
                  run={"config": config.source, "jobs": jobs, "executor": stats.executor},
                  started=started, t0=t0, policy=config.policy)


def _status(name: str, failed: set[str], unseen: set[str]) -> str:
    """``error``: the target could not be read at all; ``partial``: some of what it could
    show was not observed (``unseen``: a 403 on one API, a timed-out listing); else ``ok``."""
    if name in failed:
        return "error"
    return "partial" if name in unseen else "ok"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
