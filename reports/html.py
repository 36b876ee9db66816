"""report.html: one self-contained page a platform lead reads — the maturity curve of the
organisation, each team and each project (inline SVG), a scope picker, and every claim
clickable to its source (the file and line on GitHub/GitLab, pinned to the audited commit,
or the locator), with its excerpt and why it counts. Everything report.md has, with detail
collapsed so a handful of repositories fit on a few screens. No external assets; all text
is escaped (autoescape), and the assessment is already redacted."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any


@cache
def _template():
    from reports import view
    from reports.templating import environment

    env = environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["names"] = view.names  # a fleet's tool is used by hundreds of targets
    env.filters["scope"] = lambda s: view.scope_plain(s).capitalize() if s["kind"] == "org" \
        else f"{s['kind'].title()} {s['name']}"
    env.filters["short"] = view.short_locator
    from auditor.engine import BLIND

    env.globals.update(stage_text=view.stage_text, rollup_line=view.rollup_line,
                       tempo_window=view.tempo_window, tempo_combined=view.tempo_combined,
                       versions_text=view.versions_text, blind=BLIND,
                       settle_phrase=view.settle_phrase)
    return env.get_template("report.html.j2")


def scope_id(framework: str, scope: dict[str, str]) -> str:
    """A stable element id for one framework's view of one scope."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in scope["name"])
    return f"{framework}--{scope['kind']}--{safe}"


class HtmlReport:
    name = "html"
    filename = "report.html"

    def render(self, assessment: dict[str, Any]) -> str:
        return _template().render(**self._context(assessment))

    def chunks(self, assessment: dict[str, Any]) -> Iterator[bytes]:
        """:meth:`render`'s text as it is made (a fleet's page is megabytes)."""
        from auditor.output import encoded

        return encoded(_template().generate(**self._context(assessment)))

    def _context(self, assessment: dict[str, Any]) -> dict[str, Any]:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        from markupsafe import Markup

        from reports import view
        from reports.curve import curve_svg

        doc = view.document(assessment)
        evidence = view.EvidenceLookup(doc)
        remotes = view.repository_remotes(doc)
        stage_of = view.framework_stage_of(doc)
        order = view.framework_order(doc)

        def scopes(fw: dict[str, Any]) -> Iterator[dict[str, Any]]:
            def key(c: dict[str, Any], t: dict[str, int] = stage_of[fw["id"]]) -> tuple:
                return t.get(c["id"], 99), order.get(c["id"], 999), c["id"]

            for s in view.sections(doc, fw["id"], key, evidence):
                p = s["placement"]
                label = (f"Maturity curve of {view.scope_plain(p['scope'])} on {fw['title']}: "
                         f"stage {view.stage_text(p)}")
                yield {**s, "id": scope_id(fw["id"], p["scope"]),
                       "curve": Markup(curve_svg(p["profile"], p["stage"], label)),
                       "assumptions": view.assumptions([p])}

        frameworks = [{"fw": fw, "scopes": view.Again(lambda fw=fw: scopes(fw)),
                       "placements": view.Again(lambda fw=fw: doc.placements_sorted(fw["id"])),
                       "stage_of": stage_of[fw["id"]]}
                      for fw in doc["frameworks"]]
        return dict(a=doc, frameworks=frameworks, evidence=evidence,
                    href=lambda ev: view.evidence_href(ev, remotes),
                    by_target=view.Again(doc.evidence_by_target), scope_id=scope_id,
                    changes=view.change_lines(doc), mark=view.STATUS_MARK)
