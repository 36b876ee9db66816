"""Stage placements: the strict ladder for each project (and pooled scope), medians for teams
and the organisation.

The ladder: a subject is placed at the highest stage N such that every capability required
by stages 1..N is satisfied (met, or waived). An ``unknown`` capability does not block — it
is *assumed*, and the placement is ``provisional`` and names the assumption and the source
that would settle it — unless the audit is strict, where unknown blocks like unmet.

Roll-ups: a team's stage is the median of its projects' stages (the lower middle for an
even count); the organisation's is the median over its teams and its projects without a
team (over projects when there are no teams). Never a ladder over pooled evidence, unless
the scope has no project at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from auditor.catalog import Framework, Stage
from auditor.engine import MET, UNKNOWN, Assessed, CapabilityResult
from auditor.reach import ORG, Scope, Subjects


def median_low(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def _profile(framework: Framework, caps: dict[str, CapabilityResult]) -> list[dict[str, Any]]:
    """Per stage: how many required capabilities are met, partial, unknown, unmet (the curve)."""
    out = []
    for stage in framework.stages:
        counts = {"met": 0, "partial": 0, "unknown": 0, "unmet": 0}
        for cid in stage.all_requirements():
            r = caps[cid]
            counts["met" if r.satisfied else r.status] += 1
        out.append({"stage": stage.number, "name": stage.name,
                    "required": len(stage.all_requirements()), **counts})
    return out


def _climb(framework: Framework, caps: dict[str, CapabilityResult], strict: bool
           ) -> tuple[Stage | None, Stage | None, list[CapabilityResult], set[str]]:
    """(last stage reached, first stage not reached, unknowns assumed on the way, the
    capabilities that block the first stage not reached).

    A stage is never reached on assumptions alone: when nothing it requires is met, its
    unknown requirements block it like unmet ones."""
    reached, assumed = None, []
    for stage in framework.stages:
        required = [caps[c] for c in stage.all_requirements()]
        missing = [r for r in required if not r.satisfied]
        blocking = {r.capability.id for r in missing if strict or r.status != UNKNOWN}
        if not blocking and missing and len(missing) == len(required):
            blocking = {r.capability.id for r in missing}
        if blocking:
            return reached, stage, assumed, blocking
        assumed += missing
        reached = stage
    return reached, None, assumed, set()


def _blocker(stage: Stage, r: CapabilityResult) -> dict[str, Any]:
    b: dict[str, Any] = {"capability": r.capability.id, "title": r.capability.title,
                         "status": r.status, "next_step": r.capability.next_step}
    if stage.gate_name and r.capability.id in stage.gate_requires:
        b["gate"] = stage.gate_name
    if r.reason:
        b["reason"] = r.reason
    if r.status == UNKNOWN:
        b["unobserved"] = r.unobserved
        b["settle_with"] = list(r.settle_with)
    if r.members is not None:
        b["members_lacking"] = sum(r.members.values()) - r.members[MET]
        b["members"] = sum(r.members.values())
    return b


def _assumption(r: CapabilityResult, stage: int) -> dict[str, Any]:
    return {"capability": r.capability.id, "title": r.capability.title, "stage": stage,
            "reason": r.reason, "settle_with": list(r.settle_with)}


def _stage_of(framework: Framework) -> dict[str, int]:
    return {c: s.number for s in framework.stages for c in s.all_requirements()}


def _common(framework: Framework, scope: Scope, basis: str, caps: dict[str, CapabilityResult],
            stage_no: int, next_stage: Stage | None, blocking: set[str]) -> dict[str, Any]:
    names = {s.number: s.name for s in framework.stages}
    missing = ([caps[c] for c in next_stage.all_requirements() if not caps[c].satisfied]
               if next_stage else [])
    return {
        "framework": framework.id,
        "scope": scope.to_dict(),
        "basis": basis,
        "stage": stage_no,
        "stage_name": names.get(stage_no, "Not started"),
        "next_stage": {"stage": next_stage.number, "name": next_stage.name} if next_stage else None,
        "blockers": [_blocker(next_stage, r) for r in missing if r.capability.id in blocking],
        "unsettled": [_blocker(next_stage, r) for r in missing if r.capability.id not in blocking],
        "met_above": [
            {"capability": cid, "title": caps[cid].capability.title, "stage": s.number,
             "evidence": caps[cid].evidence}
            for s in framework.stages if s.number > stage_no
            for cid in s.all_requirements() if caps[cid].status == MET
        ],
        "profile": _profile(framework, caps),
    }


def ladder(framework: Framework, scope: Scope, caps: dict[str, CapabilityResult],
           basis: str, strict: bool) -> dict[str, Any]:
    """The strict ladder for one project, or for a scope judged on pooled evidence."""
    reached, next_stage, assumed, blocking = _climb(framework, caps, strict)
    stage_no = reached.number if reached else 0
    strict_reached, _, _, _ = _climb(framework, caps, True)
    strict_no = strict_reached.number if strict_reached else 0
    stage_of = _stage_of(framework)
    out = _common(framework, scope, basis, caps, stage_no, next_stage, blocking)
    out |= {
        "strict_stage": strict_no,
        "provisional": strict_no < stage_no,
        "assumed": [_assumption(r, stage_of[r.capability.id]) for r in assumed],
    }
    return out


def _rollup(framework: Framework, scope: Scope, caps: dict[str, CapabilityResult],
            all_members: list[Member], failed: set[str], strict: bool) -> dict[str, Any]:
    # A project whose source could not be read at all is not placed at 0 on ignorance: it is
    # left out of the median and named (unless nothing else is left).
    members: list[Member] = []
    left_out: list[str] = []
    for m in all_members:
        if m.kind == "target" and m.name in failed:
            left_out.append(m.name)
        else:
            members.append(m)
    if not members:
        members, left_out = all_members, []
    left_out.sort()
    stage_no = median_low([m.stage for m in members])
    strict_no = median_low([m.strict_stage for m in members])
    next_stage = next((s for s in framework.stages if s.number > stage_no), None)
    # what some member lacks; unknown for every member that lacks it is unsettled, not a blocker
    lacking = {c for c in (next_stage.all_requirements() if next_stage else ())
               if not caps[c].satisfied and (strict or caps[c].status != UNKNOWN)}
    out = _common(framework, scope, "members", caps, stage_no, next_stage, lacking)
    # each assumption with the roll-up's own reason (it names every member it could not
    # observe), not the first member's
    assumed: dict[str, dict[str, Any]] = {}
    for m in members:
        for capability, stage in m.assumed:
            entry = assumed.setdefault(
                capability, {**_assumption(caps[capability], stage), "members": []})
            entry["members"].append(m.name)
    lowest = min(members, key=lambda m: (m.stage, m.kind, m.name))
    distribution = {str(n): 0 for n in range(framework.stages[-1].number + 1)}
    for m in members:
        distribution[str(m.stage)] += 1
    out |= {
        "strict_stage": strict_no,
        "provisional": strict_no < stage_no,
        "assumed": sorted(assumed.values(), key=lambda a: (a["stage"], a["capability"])),
        "members": [{"scope": {"kind": m.kind, "name": m.name}, "stage": m.stage,
                     "provisional": m.provisional} for m in members],
        "distribution": distribution,
        "lowest": {"scope": {"kind": lowest.kind, "name": lowest.name}, "stage": lowest.stage},
        "not_observed": left_out,
    }
    return out


class Member(NamedTuple):
    """What a roll-up needs of a member's placement: a project's full placement is written as
    soon as it is made, and a fleet's are never all held (nor a dict each: this is a tuple
    of values the placement already holds)."""

    kind: str
    name: str
    stage: int
    strict_stage: int
    provisional: bool
    assumed: tuple[tuple[str, int], ...]  # (capability, its stage) of each assumption

    @classmethod
    def of(cls, p: dict[str, Any]) -> Member:
        return cls(p["scope"]["kind"], p["scope"]["name"], p["stage"], p["strict_stage"],
                   p["provisional"], tuple((a["capability"], a["stage"]) for a in p["assumed"]))


class Placer:
    """Placements on each framework, a project at a time (as :class:`auditor.engine.Judge`
    judges them), then the teams' and the organisation's. Keeps only what a roll-up needs of
    each project's placement."""

    def __init__(self, frameworks: Sequence[Framework], subjects: Subjects, strict: bool = False,
                 failed: set[str] | frozenset[str] = frozenset()):
        self.frameworks = frameworks
        self.subjects = subjects
        self.strict = strict
        self.failed = set(failed)
        self.members: list[dict[str, Member]] = [{} for _ in frameworks]

    def project(self, name: str, results: Sequence[CapabilityResult]) -> list[dict[str, Any]]:
        """The project's placement on each framework, in the frameworks' order."""
        caps = {r.capability.id: r for r in results}
        out = []
        for fw, members in zip(self.frameworks, self.members, strict=True):
            p = ladder(fw, Scope("target", name), caps, "project", self.strict)
            members[name] = Member.of(p)
            out.append(p)
        return out

    def rest(self, results: Sequence[CapabilityResult]) -> list[list[dict[str, Any]]]:
        """Each framework's placements of the teams, then the organisation, from their
        ``results`` (:meth:`auditor.engine.Judge.rest`), once every project is placed."""
        by_scope: dict[Scope, dict[str, CapabilityResult]] = {}
        for r in results:
            by_scope.setdefault(r.scope, {})[r.capability.id] = r
        subjects, strict, failed = self.subjects, self.strict, self.failed
        out = []
        for fw, projects in zip(self.frameworks, self.members, strict=True):
            placed = []
            org_members: list[Member] = [projects[n] for n in subjects.teamless]
            for team, names in subjects.teams.items():
                scope = Scope("team", team)
                if names:
                    p = _rollup(fw, scope, by_scope[scope], [projects[n] for n in names], failed, strict)
                    org_members.append(Member.of(p))
                else:
                    p = ladder(fw, scope, by_scope[scope], "pooled", strict)
                placed.append(p)
            if projects:
                placed.append(_rollup(fw, ORG, by_scope[ORG], org_members, failed, strict))
            else:
                placed.append(ladder(fw, ORG, by_scope[ORG], "pooled", strict))
            out.append(placed)
        return out


def place(framework: Framework, assessed: Assessed, strict: bool = False,
          failed: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Placements on one framework: every project, every team, the organisation.
    ``failed``: targets that could not be read at all (left out of roll-up medians)."""
    placer = Placer([framework], assessed.subjects, strict, failed)
    by_scope = assessed.by_scope()
    out = [placer.project(name, list(by_scope[Scope("target", name)].values()))[0]
           for name in sorted(assessed.subjects.projects)]
    rest = [r for scope, caps in by_scope.items() if scope.kind != "target" for r in caps.values()]
    return out + placer.rest(rest)[0]
