"""Compliance controls (catalog/controls.yaml), judged on the organisation scope."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import yaml

from auditor.catalog import CATALOG_DIR
from auditor.engine import MET, UNKNOWN, CapabilityResult
from auditor.evidence import Evidence, Unobserved
from auditor.signals import matches


@cache
def controls() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((CATALOG_DIR / "controls.yaml").read_text())["controls"]


def build(results: Sequence[CapabilityResult], evidence: Sequence[Evidence],
          unobserved: Sequence[Unobserved]) -> list[dict[str, Any]]:
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
            bad = [ev for ev in found
                   if fail_when and all(ev.attributes.get(k) == v for k, v in fail_when.items())]
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
