"""The console summary: placements per scope and what blocks the next stage."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from reports import view

_STYLE = {"met": "green", "partial": "yellow", "unmet": "red", "unknown": "magenta"}
#: projects listed in the summary's table; a larger fleet shows its lowest-placed this many
#: (the organisation and every team are always shown; the reports list every project)
MAX_TARGET_ROWS = 20


def _rows(placements: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], Counter[int]]:
    """(shown, stages of the hidden): every scope, but of more than :data:`MAX_TARGET_ROWS`
    targets only the lowest-placed (a thousand rows would bury the organisation's and teams'
    own). Only the rows shown are held."""
    shown: list[dict[str, Any]] = []
    spread: Counter[int] = Counter()

    def targets() -> Iterator[dict[str, Any]]:
        for p in placements:
            if p["scope"]["kind"] != "target":
                shown.append(p)
                continue
            spread[p["stage"]] += 1
            yield p

    lowest = heapq.nsmallest(MAX_TARGET_ROWS, targets(), key=lambda p: (p["stage"], p["scope"]["name"]))
    spread.subtract(p["stage"] for p in lowest)
    return shown + sorted(lowest, key=lambda p: p["scope"]["name"]), +spread


def print_summary(assessment: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    doc = view.document(assessment)
    shown: list[dict[str, Any]] = []  # the first framework's rows
    for n, fw in enumerate(doc["frameworks"]):
        table = Table(title=f"{fw['title']}", title_justify="left", show_lines=False)
        table.add_column("Scope", no_wrap=True)
        table.add_column("Stage", justify="right", no_wrap=True)
        table.add_column("Name")
        table.add_column("Blocks the next stage", overflow="fold")
        rows, hidden = _rows(doc.placements_sorted(fw["id"]))
        if n == 0:
            shown = rows  # every team and the organisation, read once for what follows
        for p in rows:
            blockers = ", ".join(f"[{_STYLE[b['status']]}]{b['title']}[/]" for b in p["blockers"]) or "—"
            table.add_row(view.scope_plain(p["scope"]), view.stage_text(p), p["stage_name"], blockers)
        console.print(table)
        if hidden:
            console.print(f"{hidden.total()} more targets not shown here ("
                          + ", ".join(f"stage {s}: {n}" for s, n in sorted(hidden.items()))
                          + "); every target is in the reports.", markup=False)
    for p in shown:  # roll-ups and pooled scopes: the organisation and teams, never a target
        if p["basis"] == "members":
            console.print(f"{view.scope_plain(p['scope'])}: {view.rollup_line(p)}", markup=False)
        elif p["basis"] == "pooled":
            console.print(f"{view.scope_plain(p['scope'])}: no project of its own; judged on the pooled "
                          f"evidence of its sources")
    notes = view.assumptions(doc.placements_sorted(doc["frameworks"][0]["id"]))
    if notes:
        console.print("\n* provisional — placed assuming what could not be seen:")
        for note in notes:
            console.print(f"  {note}", markup=False)  # "[team a, target b]" is text, not markup
    org = next((p for p in shown if p["scope"]["kind"] == "org"), None)
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
    lines = view.change_lines(doc)
    if lines:
        console.print("\nSince the previous run:")
        for line in lines:
            console.print(f"  {line}")
    if doc["inventory"]["sprawl"]:
        items = "; ".join(f"{s['category_title']}: {', '.join(s['tools'])}"
                          for s in doc["inventory"]["sprawl"])
        console.print(f"\nTool sprawl: {items}")
    drift = doc["inventory"]["drift"]
    if drift:
        console.print("Version drift: " + ", ".join(
            f"{d['tool']} ({d.get('kind', 'tool')}: {', '.join(v['version'] for v in d['versions'])})"
            for d in drift))
    n_unobs = len(doc["unobserved"])
    if doc["partial"]:
        console.print(f"\n[yellow]Partial audit:[/] {n_unobs} source(s) not observed — see the report.")
    elif n_unobs:
        console.print(f"\n{n_unobs} item(s) could not be read — see the report.")
