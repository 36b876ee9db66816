"""Shared read-only helpers that turn an Assessment into rows for human-facing formats."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

STATUS_MARK = {"met": "✅ met", "partial": "🟡 partial", "unmet": "❌ unmet", "unknown": "❔ unknown"}
SCOPE_ORDER = {"org": 0, "team": 1, "target": 2}


def scope_label(scope: dict[str, str]) -> str:
    return "Organisation" if scope["kind"] == "org" else f"{scope['kind'].title()} `{scope['name']}`"


def scope_key(scope: dict[str, str]) -> tuple[int, str]:
    return SCOPE_ORDER[scope["kind"]], scope["name"]


def evidence_index(assessment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ev["id"]: ev for ev in assessment["evidence"]}


def capabilities_by_scope(assessment: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for cap in assessment["capabilities"]:
        out[(cap["scope"]["kind"], cap["scope"]["name"])].append(cap)
    return out


def placements_sorted(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(assessment["placements"], key=lambda p: (p["framework"], scope_key(p["scope"])))


def framework_stage_of(assessment: dict[str, Any]) -> dict[str, dict[str, int]]:
    """framework id → capability id → first stage that requires it."""
    out: dict[str, dict[str, int]] = {}
    for fw in assessment["frameworks"]:
        table: dict[str, int] = {}
        for stage in fw["stages"]:
            for cid in stage["requires"]:
                table.setdefault(cid, stage["number"])
        out[fw["id"]] = table
    return out


def framework_order(assessment: dict[str, Any]) -> dict[str, int]:
    """capability id → its position in the first framework (stage by stage, as written)."""
    order: dict[str, int] = {}
    for stage in assessment["frameworks"][0]["stages"]:
        for cid in stage["requires"]:
            order.setdefault(cid, len(order))
    return order


def scope_plain(scope: dict[str, str]) -> str:
    return "organisation" if scope["kind"] == "org" else f"{scope['kind']} {scope['name']}"


def rollup_line(p: dict[str, Any]) -> str:
    """'median of 3 members (stage 1: 1, stage 2: 1, stage 4: 1); lowest: target x at 1'."""
    spread = ", ".join(f"stage {s}: {n}" for s, n in p["distribution"].items() if n)
    low = p["lowest"]
    return (f"median of {len(p['members'])} member(s) ({spread}); lowest: "
            f"{scope_plain(low['scope'])} at {low['stage']}")


def assumptions(placements: list[dict[str, Any]]) -> list[str]:
    """One line per assumed capability across provisional placements: what was assumed, for
    whom, why, and which source would settle it."""
    seen: dict[str, dict[str, Any]] = {}
    for p in placements:
        if not p.get("provisional"):
            continue
        for a in p["assumed"]:
            entry = seen.setdefault(a["capability"], {**a, "scopes": []})
            entry["scopes"].append(scope_plain(p["scope"]))
    lines = []
    for a in sorted(seen.values(), key=lambda a: (a["stage"], a["capability"])):
        settle = f" — add a {' or '.join(a['settle_with'])} target to settle it" if a["settle_with"] else ""
        why = a["reason"].split(" — ")[0] if a["reason"] else "unknown"
        lines.append(f"{a['title']} (stage {a['stage']}): {why}{settle} "
                     f"[{', '.join(a['scopes'])}]")
    return lines
