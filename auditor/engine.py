"""The inference engine: evidence → capability statuses per scope → stage placements.

Pure computation, no I/O. A capability is ``met`` when one of its ``met`` alternatives is
satisfied, ``partial`` when weaker evidence exists, ``unknown`` when nothing was found but a
source that could have shown it was not observed, else ``unmet``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.catalog import Capability, Framework, Matcher
from auditor.evidence import Evidence, Unobserved
from auditor.links import Link
from auditor.probe import Target
from auditor.signals import matches

MET, PARTIAL, UNMET, UNKNOWN = "met", "partial", "unmet", "unknown"
CITE_LIMIT = 25


@dataclass(frozen=True)
class Scope:
    kind: str  # target | team | org
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}

    def __str__(self) -> str:
        return self.name if self.kind == "org" else f"{self.kind}:{self.name}"


@dataclass
class Fact:
    """What the engine matches against: evidence, or a resolved link (citing both ends)."""

    signal: str
    strength: int
    attributes: dict[str, Any]
    ids: tuple[str, ...]


@dataclass
class CapabilityResult:
    scope: Scope
    capability: Capability
    status: str
    evidence: list[str] = field(default_factory=list)
    unobserved: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None

    @property
    def satisfied(self) -> bool:
        return self.status == MET or self.waiver is not None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "scope": self.scope.to_dict(),
            "id": self.capability.id,
            "title": self.capability.title,
            "status": self.status,
            "evidence": self.evidence,
        }
        if self.unobserved:
            out["unobserved"] = self.unobserved
        if self.waiver:
            out["waiver"] = self.waiver
        return out


def scopes_for(targets: Sequence[Target]) -> dict[Scope, set[str]]:
    """Every scope with the target names it covers: each target, each team, the organisation."""
    out: dict[Scope, set[str]] = {}
    for t in targets:
        out[Scope("target", t.name)] = {t.name}
    teams: dict[str, set[str]] = defaultdict(set)
    for t in targets:
        if t.team:
            teams[t.team].add(t.name)
    for team in sorted(teams):
        out[Scope("team", team)] = teams[team]
    out[Scope("org", "organisation")] = {t.name for t in targets}
    return out


def _facts_by_target(evidence: Iterable[Evidence], links: Iterable[Link]) -> dict[str, list[Fact]]:
    by_target: dict[str, list[Fact]] = defaultdict(list)
    for ev in evidence:
        by_target[ev.target].append(Fact(ev.signal, int(ev.strength), dict(ev.attributes), (ev.id,)))
    for link in links:
        fact = Fact(link.signal, int(link.strength), {"key": link.key}, (link.source.id, link.target.id))
        for name in link.targets:
            by_target[name].append(fact)
    return by_target


def _where_ok(m: Matcher, attrs: dict[str, Any]) -> bool:
    for key, want in m.where:
        have = attrs.get(key)
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


class _Index:
    def __init__(self, facts: list[Fact]):
        self.by_signal: dict[str, list[Fact]] = defaultdict(list)
        for f in facts:
            self.by_signal[f.signal].append(f)

    def find(self, m: Matcher) -> list[Fact]:
        return [f for sig, fs in self.by_signal.items() if matches(m.signal, sig)
                for f in fs if _where_ok(m, f.attributes)]


def _cite(facts: Iterable[Fact]) -> list[str]:
    return sorted({i for f in facts for i in f.ids})


def evaluate(cap: Capability, index: _Index) -> tuple[str, list[str]]:
    """Status and cited evidence ids for one capability over one scope's facts."""
    weaker: list[Fact] = []
    for alt in cap.met:
        used: list[Fact] = []
        ok = True
        for m in alt:
            found = index.find(m)
            strong = [f for f in found if f.strength >= m.strength]
            if len({f.ids for f in strong}) < m.min_count:
                ok = False
            used += strong
            weaker += found
        if ok:
            return MET, _cite(used)[:CITE_LIMIT]
    for alt in cap.partial:
        per_matcher = [index.find(m) for m in alt]
        if all(per_matcher):
            return PARTIAL, _cite(f for found in per_matcher for f in found)[:CITE_LIMIT]
    if weaker:
        return PARTIAL, _cite(weaker)[:CITE_LIMIT]
    return UNMET, []


def _waiver_for(cap_id: str, scope: Scope, waivers: Sequence[Any], today: date) -> dict | None:
    for w in waivers:
        if w.capability != cap_id:
            continue
        if w.expires is not None and w.expires < today:
            continue
        if w.scope in ("org", "*") or w.scope == f"{scope.kind}:{scope.name}":
            return {"reason": w.reason, "scope": w.scope,
                    "expires": w.expires.isoformat() if w.expires else None}
    return None


def assess_capabilities(
    capabilities: dict[str, Capability],
    targets: Sequence[Target],
    evidence: Sequence[Evidence],
    unobserved: Sequence[Unobserved],
    links: Sequence[Link],
    waivers: Sequence[Any] = (),
    today: date | None = None,
) -> list[CapabilityResult]:
    today = today or date.today()
    by_target = _facts_by_target(evidence, links)
    unobs_by_target: dict[str, list[Unobserved]] = defaultdict(list)
    for u in unobserved:
        unobs_by_target[u.target].append(u)
    results: list[CapabilityResult] = []
    for scope, names in scopes_for(targets).items():
        index = _Index([f for n in sorted(names) for f in by_target.get(n, ())])
        gaps = [u for n in sorted(names) for u in unobs_by_target.get(n, ())]
        for cap in capabilities.values():
            status, cited = evaluate(cap, index)
            blind: list[str] = []
            if status != MET:
                blind = sorted({f"{u.target}: {u.what}: {u.reason}" for u in gaps
                                if any(u.covers(m.signal) for m in cap.matchers())})
                if status == UNMET and blind:
                    status = UNKNOWN
            results.append(CapabilityResult(scope, cap, status, cited, blind[:10],
                                            _waiver_for(cap.id, scope, waivers, today)))
    return results


def place(framework: Framework, results: Sequence[CapabilityResult]) -> list[dict[str, Any]]:
    """Strict ladder per scope: the highest stage N whose stages 1..N are all satisfied."""
    by_scope: dict[Scope, dict[str, CapabilityResult]] = defaultdict(dict)
    for r in results:
        by_scope[r.scope][r.capability.id] = r
    placements = []
    for scope, caps in by_scope.items():
        stage_no, stage_name = 0, "Not started"
        next_stage = None
        for stage in framework.stages:
            if all(caps[c].satisfied for c in stage.all_requirements()):
                stage_no, stage_name = stage.number, stage.name
            else:
                next_stage = stage
                break
        blockers = []
        if next_stage is not None:
            for cid in next_stage.all_requirements():
                r = caps[cid]
                if not r.satisfied:
                    blocker = {"capability": cid, "title": r.capability.title, "status": r.status,
                               "next_step": r.capability.next_step}
                    if next_stage.gate_name and cid in next_stage.gate_requires:
                        blocker["gate"] = next_stage.gate_name
                    if r.status == UNKNOWN:
                        blocker["unobserved"] = r.unobserved
                    blockers.append(blocker)
        met_above = [
            {"capability": cid, "title": caps[cid].capability.title, "stage": s.number,
             "evidence": caps[cid].evidence}
            for s in framework.stages if s.number > stage_no
            for cid in s.all_requirements() if caps[cid].status == MET
        ]
        placements.append({
            "framework": framework.id,
            "scope": scope.to_dict(),
            "stage": stage_no,
            "stage_name": stage_name,
            "next_stage": ({"stage": next_stage.number, "name": next_stage.name}
                           if next_stage else None),
            "blockers": blockers,
            "met_above": met_above,
            "certain": not any(b["status"] == UNKNOWN for b in blockers),
        })
    return placements
