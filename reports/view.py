"""Shared read-only helpers that turn an Assessment into rows for human-facing formats."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from auditor.assessment import SCOPE_ORDER, Assessment

STATUS_MARK = {"met": "✅ met", "partial": "🟡 partial", "unmet": "❌ unmet", "unknown": "❔ unknown"}


def scope_label(scope: dict[str, str]) -> str:
    return "Organisation" if scope["kind"] == "org" else f"{scope['kind'].title()} `{scope['name']}`"


def document(assessment: Mapping[str, Any]) -> Assessment:
    """The :class:`~auditor.assessment.Assessment` a report reads (a plain document, as tests
    and library callers may pass, is put into one)."""
    return Assessment.from_dict(assessment)  # type: ignore[arg-type]


class EvidenceLookup(Mapping[str, dict[str, Any]]):
    """Evidence items by id, read from the assessment as they are asked for. A report asks
    for the items of the scope it is about to render at once (:meth:`prefetch`); only those
    are held, never every item of a fleet."""

    def __init__(self, doc: Assessment):
        self._doc = doc
        self._held: dict[str, dict[str, Any]] = {}

    def prefetch(self, ids: Iterable[str]) -> None:
        self._held = self._doc.evidence_by_ids(ids)

    def __getitem__(self, eid: str) -> dict[str, Any]:
        ev = self._held.get(eid)
        if ev is None:
            ev = self._doc.evidence_by_ids([eid]).get(eid)
            if ev is None:
                raise KeyError(eid)
            if len(self._held) >= HELD_EVIDENCE:
                self._held = {}
            self._held[eid] = ev
        return ev

    def __contains__(self, eid: object) -> bool:
        try:
            self[eid]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return (ev["id"] for ev in self._doc["evidence"])

    def __len__(self) -> int:
        return len(self._doc["evidence"])


#: evidence items an :class:`EvidenceLookup` holds between prefetches
HELD_EVIDENCE = 4096


def sections(doc: Assessment, framework: str, order: Callable[[dict[str, Any]], Any],
             evidence: EvidenceLookup) -> Iterator[dict[str, Any]]:
    """Each scope of one framework, in report order: its placement and its capability
    results (sorted by ``order``), its cited evidence fetched into ``evidence``. One scope is
    held at a time."""
    for p in doc.placements_sorted(framework):
        caps = sorted(doc.capabilities_of(p["scope"]), key=order)
        evidence.prefetch(i for c in caps for i in c["evidence"])
        yield {"placement": p, "capabilities": caps}


class Again:
    """An iterable made again each time it is iterated (a template may loop over the
    placements twice; a generator would be empty the second time)."""

    def __init__(self, make: Callable[[], Iterable[Any]]):
        self._make = make

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


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


def assumptions(placements: Iterable[dict[str, Any]]) -> list[str]:
    """One line per assumed capability and reason across provisional placements: what was
    assumed, for whom, why, and which source would settle it. Members assumed for different
    reasons get a line each, so no member is shown under another's reason; a roll-up's count
    of unknown members is left out (it is in the roll-up's own section), so a team and its
    projects assumed for one reason share a line. Each line keeps the first names it will
    show and a count of each kind of scope, not every scope of a fleet."""
    from auditor.engine import BLIND, MAX_NAMES, UNKNOWN_COUNT

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
            entry = seen.setdefault((a["capability"], why),
                                    {**a, "why": why, "scopes": [], "kinds": Counter()})
            entry["kinds"][p["scope"]["kind"]] += 1
            if len(entry["scopes"]) <= MAX_NAMES:
                entry["scopes"].append(p["scope"])
    return [f"{a['title']} (stage {a['stage']}): {a['why']} "
            f"[{scopes_text(a['scopes'], a['kinds'])}]"
            for a in sorted(seen.values(), key=lambda a: (a["stage"], a["capability"], a["why"]))]


def scopes_text(scopes: list[dict[str, str]], kinds: Counter[str] | None = None) -> str:
    """'team a, target b' — or, for more than :data:`auditor.engine.MAX_NAMES`, 'organisation,
    8 teams and 1000 targets': a fleet's line names its kinds of scope, not every project.
    ``kinds``: how many scopes of each kind there are, when ``scopes`` holds only the first."""
    from auditor.engine import MAX_NAMES

    counts = kinds if kinds is not None else Counter(s["kind"] for s in scopes)
    if sum(counts.values()) <= MAX_NAMES:
        return ", ".join(scope_plain(s) for s in scopes)
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


def repository_remotes(assessment: Mapping[str, Any]) -> dict[str, str]:
    """Target name → its repository's remote: the ``remote`` the git probe read, else the URL
    in its locators (a target given by URL)."""
    out: dict[str, str] = {}
    for ev in document(assessment).evidence_with("vcs.repository"):
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


def names(items: list[str]) -> str:
    """The targets or teams a tool or version is seen in, as a report's cell says them: the
    first ten and how many more (:func:`auditor.engine.names_text`); every name is in the
    JSON report (``inventory``). A fleet's common tool is used by hundreds of repositories
    (and by as many "teams" when they have no team label)."""
    from auditor.engine import names_text

    return names_text(items) if items else ""


def versions_text(versions: list[dict[str, Any]]) -> str:
    """'2.9.0 (retention), 3.1.0 (risk and search)'."""
    return ", ".join(f"{v['version']} ({names(v['teams'])})" for v in versions)


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
