"""One audit run: probes → evidence → links → engine → the Assessment document."""

from __future__ import annotations

import getpass
import platform
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from auditor import __version__, catalog, compliance, inventory, links, output, registry, tempo
from auditor.config import AuditConfig
from auditor.engine import assess_capabilities, describe_sources
from auditor.evidence import Evidence, Unobserved
from auditor.placement import place
from auditor.probe import Probe, ProbeContext, Target
from auditor.runner import Task, default_jobs, run_probes

SCHEMA_VERSION = "2.0"


def default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlops-auditor"


def _pairs(targets: Sequence[Target]) -> tuple[list[tuple[Target, Probe]], list[Unobserved]]:
    pairs, missing = [], []
    for t in targets:
        probe = registry.probe_for(t.kind)
        if probe is None:
            missing.append(Unobserved(t.name, t.kind, t.kind, f"no probe installed for kind {t.kind!r}"))
        else:
            pairs.append((t, probe))
    return pairs, missing


def _resolve_work(keys: list[str]) -> Callable[[Probe, Target, ProbeContext], Any]:
    def work(probe: Probe, target: Target, ctx: ProbeContext):
        return probe.resolve_links(target, ctx, keys)

    return work


def _overrides_resolve(probe: Probe) -> bool:
    return type(probe).resolve_links is not Probe.resolve_links


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen: dict[str, Evidence] = {}
    for ev in evidence:
        seen.setdefault(ev.id, ev)
    return sorted(seen.values(), key=lambda e: (e.target, e.signal, e.locator, e.id))


def run_audit(
    config: AuditConfig,
    *,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    frameworks: Sequence[str] | None = None,
    on_done: Callable[[Task], None] | None = None,
    today: date | None = None,
    now: datetime | None = None,
    strict: bool | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every probe over every target and return the Assessment (a JSON-ready dict).

    ``now`` fixes the clock probes measure ages and rates against (tests, replays).
    ``strict`` makes unknown capabilities block placement (default: the config's setting).
    ``previous``: the history summary of the previous run; its differences are recorded."""
    started = datetime.now(UTC)
    now = now or started
    t0 = time.monotonic()
    cache_dir = Path(cache_dir or config.settings.cache_dir or default_cache_dir())
    jobs = jobs or config.settings.jobs or default_jobs()
    fw_names = list(frameworks or [config.settings.framework])
    fws = [catalog.load_framework(name) for name in fw_names]

    pairs, missing = _pairs(config.targets)
    run = run_probes(pairs, cache_dir=cache_dir, policy=config.policy, jobs=jobs,
                     default_timeout=config.settings.timeout, on_done=on_done, now=now)
    evidence = _dedupe(run.evidence)
    unobserved = missing + run.unobserved

    # Second pass: ask probes that can whether they hold what others refer to (commits ...).
    keys = links.referenced_keys(evidence)
    # a target that failed or timed out is not opened again (a hung host would cost twice)
    failed = {t["target"] for t in run.timings if t["status"] == "error"}
    resolvers = [(t, p) for t, p in pairs if _overrides_resolve(p) and t.name not in failed]
    if keys and resolvers:
        second = run_probes(resolvers, cache_dir=cache_dir, policy=config.policy, jobs=jobs,
                            default_timeout=config.settings.timeout, work=_resolve_work(keys), now=now)
        evidence = _dedupe(evidence + second.evidence)
        unobserved += second.unobserved
    resolved = links.resolve(evidence)

    strict = config.settings.strict if strict is None else strict
    today = today or now.date()
    assessed = assess_capabilities(catalog.capabilities(), config.targets, evidence, unobserved,
                                   resolved, config.waivers, today,
                                   project_kinds=registry.project_kinds(),
                                   observes=registry.observes())
    results = assessed.results
    failed_targets = sorted({t["target"] for t in run.timings if t["status"] == "error"}
                            | {u.target for u in missing})
    placements = [p for fw in fws for p in place(fw, assessed, strict, set(failed_targets))]
    unobserved = sorted(set(unobserved), key=lambda u: (u.target, u.probe, u.what, u.reason))
    assessment = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlops-auditor", "version": __version__},
        "run": {
            "id": str(uuid.uuid4()),
            "started_at": started.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "duration_seconds": round(time.monotonic() - t0, 3),
            "host": socket.gethostname(),
            "user": _user(),
            "python": platform.python_version(),
            "config": config.source,
            "jobs": jobs,
            "strict": strict,
        },
        "partial": bool(unobserved and any(u.signals for u in unobserved)) or bool(failed_targets),
        "frameworks": [{"id": fw.id, "title": fw.title,
                        "stages": [{"number": s.number, "name": s.name,
                                    "requires": list(s.all_requirements())} for s in fw.stages]}
                       for fw in fws],
        "targets": [{"name": t.name, "kind": t.kind, "labels": dict(t.labels),
                     "status": _status(t.name, failed_targets, unobserved)}
                    for t in config.targets],
        "sources": describe_sources(catalog.capabilities(), assessed, evidence),
        "evidence": [ev.to_dict() for ev in evidence],
        "unobserved": [u.to_dict() for u in unobserved],
        "links": [link.to_dict() for link in resolved],
        "capabilities": [r.to_dict() for r in results],
        "placements": placements,
        "inventory": inventory.build(evidence, config.targets, catalog.taxonomy()),
        "tempo": tempo.build(evidence, config.targets),
        "compliance": compliance.build(results, evidence, unobserved, config.policy),
        "waivers": [{"capability": w.capability, "scope": w.scope, "reason": w.reason,
                     "expires": w.expires.isoformat() if w.expires else None,
                     "status": "expired" if w.expires and w.expires < today else "active"}
                    for w in config.waivers],
        "probes": sorted(run.timings, key=lambda t: (t["target"], t["probe"])),
    }
    assessment["changes"] = output.changes(previous, assessment)
    return assessment


def _status(name: str, failed: list[str], unobserved: list[Unobserved]) -> str:
    """``error``: the target could not be read at all; ``partial``: some of what it could
    show was not observed (a 403 on one API, a timed-out listing); else ``ok``."""
    if name in failed:
        return "error"
    return "partial" if any(u.target == name and u.signals for u in unobserved) else "ok"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
