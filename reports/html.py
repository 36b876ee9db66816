"""report.html: the Markdown report's content as one self-contained page (no external assets),
for compliance reviews that circulate a file."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from reports import view


@cache
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["scope"] = lambda s: "Organisation" if s["kind"] == "org" else f"{s['kind'].title()} {s['name']}"
    return env.get_template("report.html.j2")


class HtmlReport:
    name = "html"
    filename = "report.html"

    def render(self, assessment: dict[str, Any]) -> str:
        primary = assessment["frameworks"][0]["id"]
        stage_of = view.framework_stage_of(assessment)[primary]
        order = view.framework_order(assessment)
        by_scope = view.capabilities_by_scope(assessment)
        scopes = [
            {"placement": p,
             "capabilities": sorted(by_scope[(p["scope"]["kind"], p["scope"]["name"])],
                                    key=lambda c: (order.get(c["id"], 999), c["id"]))}
            for p in view.placements_sorted(assessment) if p["framework"] == primary
        ]
        return _template().render(a=assessment, scopes=scopes, stage_of=stage_of,
                                  evidence=view.evidence_index(assessment),
                                  placements=view.placements_sorted(assessment))
