"""The console summary: placements per scope and what blocks the next stage."""

from __future__ import annotations

from collections import Counter
from typing import Any

from reports import view

_STYLE = {"met": "green", "partial": "yellow", "unmet": "red", "unknown": "magenta"}
#: projects listed in the summary's table; a larger fleet shows its lowest-placed this many
#: (the organisation and every team are always shown; the reports list every project)
MAX_TARGET_ROWS = 20


def _rows(placements: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(shown, hidden): every scope, but of more than :data:`MAX_TARGET_ROWS` targets only
    the lowest-placed (a thousand rows would bury the organisation's and teams' own)."""
    targets = [p for p in placements if p["scope"]["kind"] == "target"]
    if len(targets) <= MAX_TARGET_ROWS:
        return placements, []
    lowest = sorted(targets, key=lambda p: (p["stage"], p["scope"]["name"]))[:MAX_TARGET_ROWS]
    keep = {id(p) for p in lowest}
    return ([p for p in placements if p["scope"]["kind"] != "target" or id(p) in keep],
            [p for p in targets if id(p) not in keep])


def print_summary(assessment: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    primary = assessment["frameworks"][0]
    for fw in assessment["frameworks"]:
        table = Table(title=f"{fw['title']}", title_justify="left", show_lines=False)
        table.add_column("Scope", no_wrap=True)
        table.add_column("Stage", justify="right", no_wrap=True)
        table.add_column("Name")
        table.add_column("Blocks the next stage", overflow="fold")
        rows, hidden = _rows([p for p in view.placements_sorted(assessment) if p["framework"] == fw["id"]])
        for p in rows:
            blockers = ", ".join(f"[{_STYLE[b['status']]}]{b['title']}[/]" for b in p["blockers"]) or "—"
            table.add_row(view.scope_plain(p["scope"]), view.stage_text(p), p["stage_name"], blockers)
        console.print(table)
        if hidden:
            spread = Counter(p["stage"] for p in hidden)
            console.print(f"{len(hidden)} more targets not shown here ("
                          + ", ".join(f"stage {s}: {n}" for s, n in sorted(spread.items()))
                          + "); every target is in the reports.", markup=False)
    shown = [p for p in view.placements_sorted(assessment) if p["framework"] == primary["id"]]
    for p in shown:
        if p["basis"] == "members":
            console.print(f"{view.scope_plain(p['scope'])}: {view.rollup_line(p)}", markup=False)
        elif p["basis"] == "pooled":
            console.print(f"{view.scope_plain(p['scope'])}: no project of its own; judged on the pooled "
                          f"evidence of its sources")
    notes = view.assumptions(shown)
    if notes:
        console.print("\n* provisional — placed assuming what could not be seen:")
        for note in notes:
            console.print(f"  {note}", markup=False)  # "[team a, target b]" is text, not markup
    org = next((p for p in assessment["placements"]
                if p["framework"] == primary["id"] and p["scope"]["kind"] == "org"), None)
    if org and org["blockers"]:
        nxt = org["next_stage"]
        console.print(f"\nNext steps for the organisation to reach stage {nxt['stage']} ({nxt['name']}):")
        for b in org["blockers"]:
            lacking = (f", lacking in {b['members_lacking']} of {b['members']}"
                       if "members_lacking" in b else "")
            console.print(f"  • [bold]{b['title']}[/] ({b['status']}{lacking}): {b['next_step']}")
    if org and org["unsettled"]:
        phrases = list(dict.fromkeys(view.settle_phrase(b.get("reason", ""), b["settle_with"])
                                     for b in org["unsettled"] if b.get("settle_with")))
        console.print("Not seen by this audit (unknown, not missing): "
                      + ", ".join(b["title"] for b in org["unsettled"])
                      + (f" — {'; '.join(phrases)}" if phrases else ""))
    lines = view.change_lines(assessment)
    if lines:
        console.print("\nSince the previous run:")
        for line in lines:
            console.print(f"  {line}")
    if assessment["inventory"]["sprawl"]:
        items = "; ".join(f"{s['category_title']}: {', '.join(s['tools'])}"
                          for s in assessment["inventory"]["sprawl"])
        console.print(f"\nTool sprawl: {items}")
    drift = assessment["inventory"]["drift"]
    if drift:
        console.print("Version drift: " + ", ".join(
            f"{d['tool']} ({d.get('kind', 'tool')}: {', '.join(v['version'] for v in d['versions'])})"
            for d in drift))
    n_unobs = len(assessment["unobserved"])
    if assessment["partial"]:
        console.print(f"\n[yellow]Partial audit:[/] {n_unobs} source(s) not observed — see the report.")
    elif n_unobs:
        console.print(f"\n{n_unobs} item(s) could not be read — see the report.")
