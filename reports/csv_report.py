"""capabilities.csv: one row per framework, scope and capability the framework requires (and
one per capability no requested framework requires), for spreadsheets and compliance reviews."""

from __future__ import annotations

import io
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
        # one pass over the scopes; each framework's rows (and those no framework requires)
        # gathered apart, then written framework by framework
        parts = [io.StringIO() for _ in range(len(doc["frameworks"]) + 1)]
        writers = [csv.writer(part, lineterminator="\n") for part in parts]
        writers[0].writerow(["framework", "scope_kind", "scope", "stage", "capability", "title",
                             "status", "previous_status", "waived", "evidence_count", "locators"])

        def row(w: Any, framework: str, stage: Any, c: dict[str, Any]) -> None:
            key = (c["scope"]["kind"], c["scope"]["name"], c["id"])
            w.writerow([framework, c["scope"]["kind"], c["scope"]["name"], stage, c["id"], c["title"],
                        c["status"], before.get(key, c["status"]) if had_previous else "", "yes" if "waiver" in c else "",
                        len(c["evidence"]),
                        " ".join(evidence[e]["locator"] for e in c["evidence"][:5] if e in evidence)])

        for scope in doc.scopes():  # organisation, teams, targets; in the first framework's order
            caps = sorted(doc.capabilities_of(scope), key=lambda c: (order.get(c["id"], 999), c["id"]))
            evidence.prefetch(e for c in caps for e in c["evidence"][:5])
            for fw, w in zip(doc["frameworks"], writers[:-1], strict=True):
                table = stage_of[fw["id"]]
                for c in caps:
                    if c["id"] in table:
                        row(w, fw["id"], table[c["id"]], c)
            for c in caps:
                if c["id"] not in required:
                    row(writers[-1], "", "", c)
        return "".join(part.getvalue() for part in parts)
