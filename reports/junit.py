"""JUnit XML: one test suite per scope, one test case per capability the framework requires.
CI systems show unmet capabilities as failures and unknown ones as skipped."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from reports import view


class JunitReport:
    name = "junit"
    filename = "junit.xml"

    def render(self, assessment: dict[str, Any]) -> str:
        fw = assessment["frameworks"][0]
        stage_of = view.framework_stage_of(assessment)[fw["id"]]
        order = view.framework_order(assessment)
        by_scope = view.capabilities_by_scope(assessment)
        evidence = view.evidence_index(assessment)
        suites = []
        total = failures = skipped = 0
        for p in view.placements_sorted(assessment):
            if p["framework"] != fw["id"]:
                continue
            key = (p["scope"]["kind"], p["scope"]["name"])
            caps = sorted((c for c in by_scope[key] if c["id"] in stage_of),
                          key=lambda c: (order[c["id"]], c["id"]))
            cases = []
            s_fail = s_skip = 0
            for c in caps:
                name = quoteattr(f"stage {stage_of[c['id']]}: {c['title']}")
                cls = quoteattr(f"{fw['id']}.{p['scope']['kind']}.{p['scope']['name']}")
                body = ""
                if c["status"] == "unknown":
                    s_skip += 1
                    body = f'<skipped message={quoteattr("not observed: " + "; ".join(c.get("unobserved", [])))}/>'
                elif c["status"] != "met" and "waiver" not in c:
                    s_fail += 1
                    cap_next = next((b["next_step"] for b in p["blockers"] if b["capability"] == c["id"]), "")
                    body = (f'<failure message={quoteattr(c["status"])} type="capability">'
                            f"{escape(cap_next)}</failure>")
                cited = "\n".join(evidence[e]["locator"] for e in c["evidence"] if e in evidence)
                out = f"<system-out>{escape(cited)}</system-out>" if cited else ""
                cases.append(f"    <testcase classname={cls} name={name}>{body}{out}</testcase>")
            total += len(caps)
            failures += s_fail
            skipped += s_skip
            suite_name = quoteattr(f"{p['scope']['kind']} {p['scope']['name']}: stage {p['stage']} ({p['stage_name']})")
            suites.append(f"  <testsuite name={suite_name} tests=\"{len(caps)}\" failures=\"{s_fail}\" "
                          f"skipped=\"{s_skip}\" errors=\"0\">\n" + "\n".join(cases) + "\n  </testsuite>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<testsuites name="mlops-auditor {escape(fw["id"])}" tests="{total}" failures="{failures}" '
                f'skipped="{skipped}">\n' + "\n".join(suites) + "\n</testsuites>\n")
