"""Compliance controls (catalog/controls.yaml), judged on the organisation scope.

Policy is judged here, never in a probe: a probe reports what it saw (the regions that hold
resources), and a control compares it with the audit's policy (``policy.allowed_regions``),
so changing the policy changes verdicts, never evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from auditor import catalog
from auditor.engine import MET, UNKNOWN, CapabilityResult
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


def build(results: Sequence[CapabilityResult], evidence: Sequence[Evidence],
          unobserved: Sequence[Unobserved], policy: Policy | None = None) -> list[dict[str, Any]]:
    policy = policy or Policy()
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
            found = [ev for ev in evidence if matches(spec["signal"], ev.signal)]
            fail_when = spec.get("fail_when") or {}
            bad = [ev for ev in found if violates(ev, fail_when, policy)]
            blind = any(u.covers(spec["signal"]) for u in unobserved)
            if bad:
                status = "fail"
            elif found:
                status = "pass"
            else:
                status = "unknown" if blind else "no evidence"
            row |= {"status": status, "evidence": sorted(ev.id for ev in (bad or found))[:25]}
            if bad:
                row["violations"] = [ev.locator for ev in bad][:25]
        out.append(row)
    return out
