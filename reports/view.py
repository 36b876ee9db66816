"""Shared read-only helpers that turn an Assessment into rows for human-facing formats."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

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
    """One line per assumed capability and reason across provisional placements: what was
    assumed, for whom, why, and which source would settle it. Members assumed for different
    reasons get a line each, so no member is shown under another's reason; a roll-up's count
    of unknown members is left out (it is in the roll-up's own section), so a team and its
    projects assumed for one reason share a line."""
    from auditor.engine import BLIND, UNKNOWN_COUNT

    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for p in placements:
        if not p.get("provisional"):
            continue
        for a in p["assumed"]:
            settle = (f" — {settle_phrase(a['reason'], a['settle_with'], named=False)}"
                      if a["settle_with"] else "")
            why = (UNKNOWN_COUNT.sub("", a["reason"].split(" — ")[0]) if a["reason"] else "unknown") + settle
            if p["scope"]["kind"] == "target" and a["settle_with"] == [p["scope"]["name"]] \
                    and a["reason"].startswith(BLIND):
                why = f"could not be read{settle}"  # its own source: one line for all such
            entry = seen.setdefault((a["capability"], why), {**a, "why": why, "scopes": []})
            entry["scopes"].append(p["scope"])
    return [f"{a['title']} (stage {a['stage']}): {a['why']} [{scopes_text(a['scopes'])}]"
            for a in sorted(seen.values(), key=lambda a: (a["stage"], a["capability"], a["why"]))]


def scopes_text(scopes: list[dict[str, str]]) -> str:
    """'team a, target b' — or, for more than :data:`auditor.engine.MAX_NAMES`, 'organisation,
    8 teams and 1000 targets': a fleet's line names its kinds of scope, not every project."""
    from auditor.engine import MAX_NAMES

    if len(scopes) <= MAX_NAMES:
        return ", ".join(scope_plain(s) for s in scopes)
    counts = Counter(s["kind"] for s in scopes)
    parts = [("organisation" if kind == "org" else f"{n} {kind}{'s' if n > 1 else ''}")
             for kind, n in sorted(counts.items(), key=lambda kv: SCOPE_ORDER.get(kv[0], 9))]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def stage_text(p: dict[str, Any]) -> str:
    """'5*' for a provisional placement, '5' otherwise."""
    return f"{p['stage']}*" if p.get("provisional") else str(p["stage"])


def framework_titles(assessment: dict[str, Any]) -> dict[str, str]:
    return {fw["id"]: fw["title"] for fw in assessment["frameworks"]}


def change_lines(assessment: dict[str, Any]) -> list[str]:
    """One line per change since the previous run, stages first: '↓ target svc: stage 1 → 0'."""
    changes = assessment.get("changes") or {}
    several = len(assessment["frameworks"]) > 1
    titles = framework_titles(assessment)
    lines = []
    for c in changes.get("placements", []):
        arrow = "↑" if c["to"] > c["from"] else "↓"
        fw = f" ({titles.get(c['framework'], c['framework'])})" if several else ""
        lines.append(f"{arrow} {scope_plain(c['scope'])}: stage {c['from']} → {c['to']}{fw}")
    rank = {"unknown": 0, "unmet": 0, "partial": 1, "met": 2}
    for c in changes.get("capabilities", []):
        arrow = "↑" if rank[c["to"]] > rank[c["from"]] else "↓" if rank[c["to"]] < rank[c["from"]] else "•"
        lines.append(f"{arrow} {scope_plain(c['scope'])}: {c['title']} {c['from']} → {c['to']}")
    return lines


def regressed(change: dict[str, Any]) -> bool:
    """A stage that went down, or a capability that was met and no longer is."""
    if "capability" in change:
        return change["from"] == "met" or (change["from"] == "partial" and change["to"] == "unmet")
    return change["to"] < change["from"]


# ---- where evidence lives: git locators and their web pages ---------------------------------

_GIT_LOCATOR = re.compile(r"^git\+(?P<repo>.+?)@(?P<sha>[0-9a-f]+)"
                          r"(?:#(?P<path>.+?)(?::(?P<line>\d+))?)?$")
_SCP_REMOTE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>.+)$")


@dataclass(frozen=True)
class GitLocator:
    repo: str            # the repository as the probe showed it (URL or file URI)
    sha: str
    path: str | None     # URL-quoted, as in the locator
    line: int | None

    @property
    def display_path(self) -> str | None:
        return unquote(self.path) if self.path else None


def git_locator(locator: str) -> GitLocator | None:
    m = _GIT_LOCATOR.match(locator or "")
    if not m:
        return None
    return GitLocator(m["repo"], m["sha"], m["path"], int(m["line"]) if m["line"] else None)


def web_base(remote: str | None) -> tuple[str, str] | None:
    """(https base URL, 'github' or 'gitlab') for a GitHub or GitLab remote, else None.
    Accepts https and ssh/scp forms; anything else (a file URI, an unknown host) gets none,
    and reports show the locator instead of a link."""
    if not remote:
        return None
    parts = urlsplit(remote)
    if parts.scheme in ("https", "http", "ssh", "git") and parts.hostname:
        host, path = parts.hostname, parts.path
    elif (m := _SCP_REMOTE.match(remote)) and "://" not in remote:
        host, path = m["host"], m["path"]
    else:
        return None
    path = path.strip("/").removesuffix(".git")
    if not path or "/" not in path:
        return None
    flavour = "github" if "github" in host else "gitlab" if "gitlab" in host else None
    if flavour is None:
        return None
    return f"https://{host}/{quote(path, safe='/._-~')}", flavour


def repository_remotes(assessment: dict[str, Any]) -> dict[str, str]:
    """Target name → its repository's remote: the ``remote`` the git probe read, else the URL
    in its locators (a target given by URL)."""
    out: dict[str, str] = {}
    for ev in assessment["evidence"]:
        if ev["signal"] == "vcs.repository":
            remote = ev["attributes"].get("remote")
            loc = git_locator(ev["locator"])
            if isinstance(remote, str) and remote:
                out[ev["target"]] = remote
            elif loc is not None and not loc.repo.startswith("file:"):
                out[ev["target"]] = loc.repo
    return out


def evidence_href(ev: dict[str, Any], remotes: dict[str, str]) -> str | None:
    """A https link to the cited file and line on GitHub or GitLab, pinned to the audited
    commit; None when the repository has no such remote (the report shows the locator)."""
    loc = git_locator(ev["locator"])
    if loc is None:
        return None
    base = web_base(remotes.get(ev["target"]) or loc.repo)
    if base is None:
        return None
    url, flavour = base
    if not loc.path:
        return f"{url}/tree/{loc.sha}" if flavour == "github" else f"{url}/-/tree/{loc.sha}"
    blob = "blob" if flavour == "github" else "-/blob"
    anchor = f"#L{loc.line}" if loc.line else ""
    return f"{url}/{blob}/{loc.sha}/{loc.path}{anchor}"


def short_locator(locator: str) -> str:
    """'churn@43a3ed6 · Dockerfile:3' for a git locator; other locators as they are."""
    loc = git_locator(locator)
    if loc is None:
        return locator
    name = unquote(loc.repo.rstrip("/").rsplit("/", 1)[-1]).removesuffix(".git")
    where = f" · {loc.display_path}" + (f":{loc.line}" if loc.line else "") if loc.path else ""
    return f"{name}@{loc.sha[:7]}{where}"


_COMBINED = {"sum": "sum of", "most_recent": "most recent of", "oldest": "oldest of",
             "median": "median of", "distinct": "distinct people across"}


def tempo_window(row: dict[str, Any]) -> str:
    return f"last {row['window_days']} days" if row.get("window_days") else "—"


def tempo_combined(row: dict[str, Any]) -> str:
    """How a scope's figure was made from its targets' ('most recent of 3 targets')."""
    n = row.get("targets", 1)
    if n <= 1:
        return "—"
    return f"{_COMBINED.get(row.get('combined', ''), row.get('combined', ''))} {n} targets"


def versions_text(versions: list[dict[str, Any]]) -> str:
    """'2.9.0 (retention), 3.1.0 (risk)'."""
    return ", ".join(f"{v['version']} ({', '.join(v['teams'])})" for v in versions)


def settle_phrase(reason: str, settle_with: list[str], named: bool = True) -> str:
    """What settles an unknown: adding a kind of source it cannot be seen from, or — when a
    source failed (the engine's reason starts with ``could not observe``) — reading the
    targets it names again once what stopped them is fixed. ``named=False`` when the reason
    shown beside it already names them."""
    from auditor.engine import BLIND, add_target, names_text

    if reason.startswith(BLIND):
        who = ("it" if len(settle_with) == 1 else "them") if not named else names_text(settle_with)
        return f"fix what stopped {who} being read (see not observed) to settle it"
    return f"{add_target(settle_with)} to settle it"
