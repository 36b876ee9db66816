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

from collections.abc import Iterator, Sequence
from typing import Any

from auditor.catalog import Framework, Stage
from auditor.engine import MET, UNKNOWN, Assessed, CapabilityResult
from auditor.reach import ORG, Scope


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
            all_members: list[dict[str, Any]], failed: set[str], strict: bool) -> dict[str, Any]:
    # A project whose source could not be read at all is not placed at 0 on ignorance: it is
    # left out of the median and named (unless nothing else is left).
    members = [m for m in all_members
               if not (m["scope"]["kind"] == "target" and m["scope"]["name"] in failed)]
    members = members or all_members
    stage_no = median_low([m["stage"] for m in members])
    strict_no = median_low([m["strict_stage"] for m in members])
    next_stage = next((s for s in framework.stages if s.number > stage_no), None)
    # what some member lacks; unknown for every member that lacks it is unsettled, not a blocker
    lacking = {c for c in (next_stage.all_requirements() if next_stage else ())
               if not caps[c].satisfied and (strict or caps[c].status != UNKNOWN)}
    out = _common(framework, scope, "members", caps, stage_no, next_stage, lacking)
    # each assumption with the roll-up's own reason (it names every member it could not
    # observe), not the first member's
    assumed: dict[str, dict[str, Any]] = {}
    for m in members:
        for a in m["assumed"]:
            entry = assumed.setdefault(
                a["capability"], {**_assumption(caps[a["capability"]], a["stage"]), "members": []})
            entry["members"].append(m["scope"]["name"])
    lowest = min(members, key=lambda m: (m["stage"], m["scope"]["kind"], m["scope"]["name"]))
    distribution = {str(n): 0 for n in range(framework.stages[-1].number + 1)}
    for m in members:
        distribution[str(m["stage"])] += 1
    out |= {
        "strict_stage": strict_no,
        "provisional": strict_no < stage_no,
        "assumed": sorted(assumed.values(), key=lambda a: (a["stage"], a["capability"])),
        "members": [{"scope": m["scope"], "stage": m["stage"], "provisional": m["provisional"]}
                    for m in members],
        "distribution": distribution,
        "lowest": {"scope": lowest["scope"], "stage": lowest["stage"]},
        "not_observed": sorted(m["scope"]["name"] for m in all_members if m not in members),
    }
    return out


def _member(p: dict[str, Any]) -> dict[str, Any]:
    """What a roll-up needs of a member's placement (a project's full placement is written as
    soon as it is made; a fleet's are never all held)."""
    return {k: p[k] for k in ("scope", "stage", "strict_stage", "provisional", "assumed")}


def place(framework: Framework, assessed: Assessed, strict: bool = False,
          failed: set[str] | frozenset[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Placements on one framework, one at a time: every project, every team, the
    organisation. ``failed``: targets that could not be read at all (left out of roll-up
    medians)."""
    by_scope = assessed.by_scope()
    subjects = assessed.subjects
    projects: dict[str, dict[str, Any]] = {}
    for name in sorted(subjects.projects):
        scope = Scope("target", name)
        p = ladder(framework, scope, by_scope[scope], "project", strict)
        projects[name] = _member(p)
        yield p
    org_members: list[dict[str, Any]] = [projects[n] for n in subjects.teamless]
    for team, names in subjects.teams.items():
        scope = Scope("team", team)
        if names:
            p = _rollup(framework, scope, by_scope[scope], [projects[n] for n in names], set(failed),
                        strict)
            org_members.append(p)
        else:
            p = ladder(framework, scope, by_scope[scope], "pooled", strict)
        yield p
    if projects:
        yield _rollup(framework, ORG, by_scope[ORG], org_members, set(failed), strict)
    else:
        yield ladder(framework, ORG, by_scope[ORG], "pooled", strict)
