"""JUnit XML: one test suite per framework and scope, one test case per capability the
framework requires. CI systems show unmet capabilities as failures and unknown ones as
skipped. A last suite lists what changed since the previous run: a regression fails."""

from __future__ import annotations

from typing import Any


def escape(text: str) -> str:
    """``xml.sax.saxutils.escape``, imported when a report is rendered: the module imports
    ``urllib.request`` (tens of milliseconds), and every run loads this class for its file name."""
    from xml.sax.saxutils import escape as _escape

    return _escape(text)


def quoteattr(text: str) -> str:
    from xml.sax.saxutils import quoteattr as _quoteattr

    return _quoteattr(text)


def _suite(name: str, cases: list[str], failures: int, skipped: int) -> str:
    return (f"  <testsuite name={quoteattr(name)} tests=\"{len(cases)}\" failures=\"{failures}\" "
            f"skipped=\"{skipped}\" errors=\"0\">\n" + "\n".join(cases) + "\n  </testsuite>")


class JunitReport:
    name = "junit"
    filename = "junit.xml"

    def render(self, assessment: dict[str, Any]) -> str:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        from reports import view

        doc = view.document(assessment)
        stage_of = view.framework_stage_of(doc)
        evidence = view.EvidenceLookup(doc)
        several = len(doc["frameworks"]) > 1
        suites = []
        total = failures = skipped = 0
        for fw in doc["frameworks"]:
            order = {c: i for i, c in enumerate(stage_of[fw["id"]])}
            for p in doc.placements_sorted(fw["id"]):
                caps = sorted((c for c in doc.capabilities_of(p["scope"])
                               if c["id"] in stage_of[fw["id"]]),
                              key=lambda c: (stage_of[fw["id"]][c["id"]], order[c["id"]]))
                evidence.prefetch(e for c in caps for e in c["evidence"])
                cases = []
                s_fail = s_skip = 0
                for c in caps:
                    name = quoteattr(f"stage {stage_of[fw['id']][c['id']]}: {c['title']}")
                    cls = quoteattr(f"{fw['id']}.{p['scope']['kind']}.{p['scope']['name']}")
                    body = ""
                    if c["status"] == "unknown" and "waiver" not in c:
                        s_skip += 1
                        why = c.get("reason") or "; ".join(c.get("unobserved", []))
                        body = f'<skipped message={quoteattr("unknown: " + why)}/>'
                    elif c["status"] != "met" and "waiver" not in c:
                        s_fail += 1
                        step = next((b["next_step"] for b in p["blockers"] + p["unsettled"]
                                     if b["capability"] == c["id"]), "")
                        body = (f'<failure message={quoteattr(c["status"])} type="capability">'
                                f"{escape(step)}</failure>")
                    cited = "\n".join(evidence[e]["locator"] for e in c["evidence"] if e in evidence)
                    out = f"<system-out>{escape(cited)}</system-out>" if cited else ""
                    cases.append(f"    <testcase classname={cls} name={name}>{body}{out}</testcase>")
                total, failures, skipped = total + len(caps), failures + s_fail, skipped + s_skip
                prefix = f"{fw['id']} " if several else ""
                suites.append(_suite(f"{prefix}{view.scope_plain(p['scope'])}: stage "
                                     f"{view.stage_text(p)} ({p['stage_name']})", cases, s_fail, s_skip))
        changes = doc.get("changes") or {}
        moved = changes.get("placements", []) + changes.get("capabilities", [])
        if moved:
            cases = []
            lines = view.change_lines(doc)
            regressions = 0
            for change, line in zip(moved, lines, strict=True):
                body = ""
                if view.regressed(change):
                    regressions += 1
                    body = f'<failure message="regression" type="change">{escape(line)}</failure>'
                cases.append(f"    <testcase classname=\"changes\" name={quoteattr(line)}>{body}</testcase>")
            total, failures = total + len(cases), failures + regressions
            suites.append(_suite("changes since the previous run", cases, regressions, 0))
        title = " ".join(fw["id"] for fw in doc["frameworks"])
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<testsuites name="mlops-auditor {escape(title)}" tests="{total}" failures="{failures}" '
                f'skipped="{skipped}">\n' + "\n".join(suites) + "\n</testsuites>\n")
