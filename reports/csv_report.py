"""capabilities.csv: one row per scope and capability, for spreadsheets and compliance reviews."""

from __future__ import annotations

import csv
import io
from typing import Any

from reports import view


class CsvReport:
    name = "csv"
    filename = "capabilities.csv"

    def render(self, assessment: dict[str, Any]) -> str:
        evidence = view.evidence_index(assessment)
        stage_of = view.framework_stage_of(assessment)[assessment["frameworks"][0]["id"]]
        order = view.framework_order(assessment)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["scope_kind", "scope", "stage", "capability", "title", "status", "waived",
                    "evidence_count", "locators"])
        for c in sorted(assessment["capabilities"],
                        key=lambda c: (view.scope_key(c["scope"]), order.get(c["id"], 999), c["id"])):
            w.writerow([c["scope"]["kind"], c["scope"]["name"], stage_of.get(c["id"], ""), c["id"], c["title"],
                        c["status"], "yes" if "waiver" in c else "", len(c["evidence"]),
                        " ".join(evidence[e]["locator"] for e in c["evidence"][:5] if e in evidence)])
        return buf.getvalue()
