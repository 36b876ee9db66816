"""Compliance controls (catalog/controls.yaml), judged on the organisation scope.

Policy is judged here, never in a probe: a probe reports what it saw (the regions that hold
resources), and a control compares it with the audit's policy (``policy.allowed_regions``),
so changing the policy changes verdicts, never evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from auditor import catalog
from auditor.engine import CITE_LIMIT, MET, UNKNOWN, CapabilityResult, Smallest
from auditor.evidence import Evidence, Unobserved
from auditor.probe import Policy
from auditor.signals import matches


@cache
def controls() -> dict[str, dict[str, Any]]:
    return catalog.load_data("controls.yaml")["controls"]


def violates(ev: Evidence, fail_when: dict[str, Any], policy: Policy) -> bool:
    """Whether one piece of evidence fails a control's ``fail_when``: every attribute named
    there has the value given, and ``<attribute>_not_in: <policy list>`` holds when the
    attribute is outside a non-empty policy list (an empty list allows everything)."""
    if not fail_when:
        return False
    for key, value in fail_when.items():
        if key.endswith("_not_in"):
            allowed = tuple(getattr(policy, str(value)))
            if not allowed or ev.attributes.get(key.removesuffix("_not_in")) in allowed:
                return False
        elif ev.attributes.get(key) != value:
            return False
    return True


class Controls:
    """The controls, with the evidence they judge folded in as each target's is read (a
    fleet's evidence is never all held): :meth:`add`, then :meth:`result`."""

    def __init__(self, policy: Policy | None = None):
        self.policy = policy or Policy()
        self.seen: dict[str, _Seen] = {cid: _Seen() for cid, spec in controls().items()
                                       if "capability" not in spec}

    def add(self, evidence: Iterable[Evidence]) -> None:
        specs = controls()
        for ev in evidence:
            for cid, seen in self.seen.items():
                spec = specs[cid]
                if matches(spec["signal"], ev.signal):
                    seen.add(ev, violates(ev, spec.get("fail_when") or {}, self.policy))

    def result(self, results: Sequence[CapabilityResult],
               unobserved: Sequence[Unobserved]) -> list[dict[str, Any]]:
        """The rows, with ``results`` (the organisation's are used) and what was not observed."""
        org = {r.capability.id: r for r in results if r.scope.kind == "org"}
        out = []
        for cid, spec in controls().items():
            row: dict[str, Any] = {"id": cid, "title": spec["title"]}
            if "capability" in spec:
                r = org.get(spec["capability"])
                status = r.status if r else UNKNOWN
                row |= {"status": "pass" if status == MET else ("unknown" if status == UNKNOWN else "fail"),
                        "evidence": r.evidence if r else []}
            else:
                seen = self.seen[cid]
                blind = any(u.covers(spec["signal"]) for u in unobserved)
                if seen.bad_count:
                    status = "fail"
                elif seen.found_count:
                    status = "pass"
                else:
                    status = "unknown" if blind else "no evidence"
                cited = seen.bad_ids if seen.bad_count else seen.found_ids
                row |= {"status": status, "evidence": list(cited.values)}
                if seen.bad_count:
                    row["violations"] = seen.violations
            out.append(row)
        return out


class _Seen:
    """What one control saw: how much evidence, how much of it failing, the first cited ids
    (the smallest, as a sorted list would start) and the first failing locators."""

    def __init__(self) -> None:
        self.found_count = self.bad_count = 0
        self.found_ids = Smallest(CITE_LIMIT)
        self.bad_ids = Smallest(CITE_LIMIT)
        self.violations: list[str] = []

    def add(self, ev: Evidence, bad: bool) -> None:
        self.found_count += 1
        self.found_ids.add(ev.id)
        if bad:
            self.bad_count += 1
            self.bad_ids.add(ev.id)
            if len(self.violations) < CITE_LIMIT:
                self.violations.append(ev.locator)


def build(results: Sequence[CapabilityResult], evidence: Sequence[Evidence],
          unobserved: Sequence[Unobserved], policy: Policy | None = None) -> list[dict[str, Any]]:
    found = Controls(policy)
    found.add(evidence)
    return found.result(results, unobserved)
