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
    env.filters["names"] = view.names  # a fleet's tool is used by hundreds of targets
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
        from auditor.output import encoded

        return encoded(_template().generate(**self._context(assessment)))

    def _context(self, assessment: dict[str, Any]) -> dict[str, Any]:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        from reports import view

        doc = view.document(assessment)
        evidence = view.EvidenceLookup(doc)
        stage_of = view.framework_stage_of(doc)
        order = view.framework_order(doc)
        primary = doc["frameworks"][0]["id"]
        scopes = view.sections(doc, primary, lambda c: (order.get(c["id"], 999), c["id"]), evidence)
        others = [{"fw": fw, "placements": view.Again(lambda fw=fw: doc.placements_sorted(fw["id"]))}
                  for fw in doc["frameworks"][1:]]
        return dict(a=doc, evidence=evidence, scopes=scopes,
                    placements=view.Again(doc.placements_sorted),
                    stage_of=stage_of[primary], rollup_line=view.rollup_line,
                    assumptions=view.assumptions(doc.placements_sorted(primary)),
                    changes=view.change_lines(doc), others=others,
                    stage_text=view.stage_text,
                    tempo_window=view.tempo_window, tempo_combined=view.tempo_combined,
                    versions_text=view.versions_text)
