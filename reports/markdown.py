"""report.md: placements, blockers with next steps, capabilities with cited evidence."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any


@cache
def _template():
    from reports import view
    from reports.templating import environment

    env = environment(autoescape=False, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["mark"] = lambda s: view.STATUS_MARK.get(s, s)
    env.filters["scope"] = view.scope_label
    env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env.get_template("report.md.j2")


class MarkdownReport:
    name = "markdown"
    filename = "report.md"

    def render(self, assessment: dict[str, Any]) -> str:
        return _template().render(**self._context(assessment))

    def chunks(self, assessment: dict[str, Any]) -> Iterator[bytes]:
        """:meth:`render`'s text as it is made (a fleet's report.md is megabytes)."""
        from reports.interface import encoded

        return encoded(_template().generate(**self._context(assessment)))

    def _context(self, assessment: dict[str, Any]) -> dict[str, Any]:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        from reports import view

        evidence = view.evidence_index(assessment)
        by_scope = view.capabilities_by_scope(assessment)
        stage_of = view.framework_stage_of(assessment)
        order = view.framework_order(assessment)
        primary = assessment["frameworks"][0]["id"]
        scopes = []
        for p in view.placements_sorted(assessment):
            if p["framework"] != primary:
                continue
            caps = sorted(by_scope[(p["scope"]["kind"], p["scope"]["name"])],
                          key=lambda c: (order.get(c["id"], 999), c["id"]))
            scopes.append({"placement": p, "capabilities": caps})
        shown = [s["placement"] for s in scopes]
        others = [{"fw": fw, "placements": [p for p in view.placements_sorted(assessment)
                                            if p["framework"] == fw["id"]]}
                  for fw in assessment["frameworks"][1:]]
        return dict(a=assessment, evidence=evidence, scopes=scopes,
                    placements=view.placements_sorted(assessment),
                    stage_of=stage_of[primary], rollup_line=view.rollup_line,
                    assumptions=view.assumptions(shown),
                    changes=view.change_lines(assessment), others=others,
                    stage_text=view.stage_text,
                    tempo_window=view.tempo_window, tempo_combined=view.tempo_combined,
                    versions_text=view.versions_text)
