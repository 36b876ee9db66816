"""SARIF 2.1.0: capabilities that block the next stage, as results code-scanning UIs can show.
A result points at the file of its partial evidence when there is one in a repository."""

from __future__ import annotations

import json
import re
from typing import Any

from reports import view

_GIT_LOCATOR = re.compile(r"^git\+[^#]+#(?P<path>[^:]+)(?::(?P<line>\d+))?$")
_LEVEL = {"unmet": "warning", "partial": "note", "unknown": "none"}


class SarifReport:
    name = "sarif"
    filename = "mlops-audit.sarif"

    def render(self, assessment: dict[str, Any]) -> str:
        evidence = view.evidence_index(assessment)
        caps = {c["id"]: c for c in assessment["capabilities"]}
        rules, rule_index, results = [], {}, []
        for p in view.placements_sorted(assessment):
            if p["scope"]["kind"] != "target" or p["framework"] != assessment["frameworks"][0]["id"]:
                continue
            for b in p["blockers"]:
                if b["capability"] not in rule_index:
                    rule_index[b["capability"]] = len(rules)
                    rules.append({"id": b["capability"], "name": b["capability"],
                                  "shortDescription": {"text": b["title"]},
                                  "help": {"text": b["next_step"]}})
                result: dict[str, Any] = {
                    "ruleId": b["capability"], "ruleIndex": rule_index[b["capability"]],
                    "level": _LEVEL[b["status"]],
                    "message": {"text": f"{p['scope']['name']}: {b['title']} is {b['status']}; it blocks "
                                        f"stage {p['next_stage']['stage']} ({p['next_stage']['name']}). "
                                        f"{b['next_step']}"},
                }
                cap = next((c for c in assessment["capabilities"] if c["id"] == b["capability"]
                            and c["scope"] == p["scope"]), caps.get(b["capability"]))
                locs = []
                for eid in (cap or {}).get("evidence", [])[:3]:
                    m = _GIT_LOCATOR.match(evidence.get(eid, {}).get("locator", ""))
                    if m:
                        region = {"startLine": int(m.group("line"))} if m.group("line") else None
                        loc = {"physicalLocation": {"artifactLocation": {"uri": m.group("path")}}}
                        if region:
                            loc["physicalLocation"]["region"] = region
                        locs.append(loc)
                if locs:
                    result["locations"] = locs
                results.append(result)
        doc = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "mlops-auditor", "version": assessment["tool"]["version"],
                                          "rules": rules}},
                      "results": results}],
        }
        return json.dumps(doc, indent=2) + "\n"
