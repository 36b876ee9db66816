"""capabilities.csv: one row per framework, scope and capability the framework requires (and
one per capability no requested framework requires), for spreadsheets and compliance reviews."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any


class CsvReport:
    name = "csv"
    filename = "capabilities.csv"

    def render(self, assessment: dict[str, Any]) -> str:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        import csv

        from reports import view

        doc = view.document(assessment)
        evidence = view.EvidenceLookup(doc)
        stage_of = view.framework_stage_of(doc)
        order = view.framework_order(doc)
        changes = doc.get("changes") or {}
        before = {(c["scope"]["kind"], c["scope"]["name"], c["capability"]): c["from"]
                  for c in changes.get("capabilities", [])}
        had_previous = bool(changes.get("previous_run"))
        required = {cid for table in stage_of.values() for cid in table}
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["framework", "scope_kind", "scope", "stage", "capability", "title", "status",
                    "previous_status", "waived", "evidence_count", "locators"])

        def row(framework: str, stage: Any, c: dict[str, Any]) -> None:
            key = (c["scope"]["kind"], c["scope"]["name"], c["id"])
            w.writerow([framework, c["scope"]["kind"], c["scope"]["name"], stage, c["id"], c["title"],
                        c["status"], before.get(key, c["status"]) if had_previous else "", "yes" if "waiver" in c else "",
                        len(c["evidence"]),
                        " ".join(evidence[e]["locator"] for e in c["evidence"][:5] if e in evidence)])

        def by_scope() -> Iterator[list[dict[str, Any]]]:
            """Each scope's results (organisation, teams, targets), in the first framework's order."""
            for scope in doc.scopes():
                caps = sorted(doc.capabilities_of(scope), key=lambda c: (order.get(c["id"], 999), c["id"]))
                evidence.prefetch(e for c in caps for e in c["evidence"][:5])
                yield caps

        for fw in doc["frameworks"]:
            for caps in by_scope():
                for c in caps:
                    if c["id"] in stage_of[fw["id"]]:
                        row(fw["id"], stage_of[fw["id"]][c["id"]], c)
        for caps in by_scope():
            for c in caps:
                if c["id"] not in required:
                    row("", "", c)
        return buf.getvalue()
