"""The inference engine: evidence → capability statuses per subject.

Pure computation, no I/O. A capability is ``met`` when one of its ``met`` alternatives is
satisfied, ``partial`` when weaker evidence exists, ``unknown`` when nothing was found and
no source that could show its absence was observed (an unreachable source, or no audited
source of a kind in its ``observable_from``), else ``unmet``.

Subjects (see :mod:`auditor.reach`): each project target is judged on its own evidence and
what links attribute to it, plus its team's and the organisation's platform sources for
platform capabilities. Teams and the organisation roll their projects' statuses up; a team
or organisation without projects is judged on its pooled evidence.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.catalog import Capability, Matcher
from auditor.evidence import Evidence, Unobserved
from auditor.links import Link
from auditor.probe import Target
from auditor.reach import ORG, Reach, Scope, Subjects, plan
from auditor.signals import matches

MET, PARTIAL, UNMET, UNKNOWN = "met", "partial", "unmet", "unknown"
STATUSES = (MET, PARTIAL, UNMET, UNKNOWN)
#: evidence ids a result (a capability's, a control's, a roll-up's tempo row) cites at most
CITE_LIMIT = 25
#: how an unknown's reason starts when a source failed: its ``settle_with`` then names the
#: targets to make readable, not target kinds to add
BLIND = "could not observe"
#: how a roll-up's reason counts its unknown members, in parentheses after a shared reason;
#: reports match it (UNKNOWN_COUNT) to put a team on one line with its projects
COUNT_PHRASE = "unknown for {} of {} projects"
UNKNOWN_COUNT = re.compile(r" \(unknown for \d+ of \d+ projects\)")
BLIND_LIMIT = 10
#: names (of targets, of scopes) a reason or a report's line lists before counting the rest
MAX_NAMES = 10

__all__ = ["MET", "PARTIAL", "UNMET", "UNKNOWN", "Scope", "ORG", "CapabilityResult",
           "Assessed", "Judge", "assess_capabilities", "describe_sources", "evaluate"]


@dataclass(slots=True)
class Fact:
    """What the engine matches against: evidence, or a resolved link (citing both ends).
    ``attributes`` is the evidence's own mapping (read, never changed)."""

    signal: str
    strength: int
    attributes: Mapping[str, Any]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, ev: Evidence) -> Fact:
        return cls(ev.signal, int(ev.strength), ev.attributes, (ev.id,))


@dataclass(slots=True)
class CapabilityResult:
    """A capability's status for one scope, with the evidence cited and what was not observed."""

    scope: Scope
    capability: Capability
    status: str
    evidence: list[str] = field(default_factory=list)
    unobserved: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None
    reason: str = ""                       # why unknown: what could not be seen, what would settle it
    settle_with: tuple[str, ...] = ()      # target kinds (or targets) that would settle an unknown
    members: dict[str, int] | None = None  # roll-ups: how many member projects at each status
    members_satisfied: bool = False        # roll-ups: every member met it or has a waiver

    @property
    def satisfied(self) -> bool:
        if self.members is not None:
            return self.members_satisfied or self.waiver is not None
        return self.status == MET or self.waiver is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scope": self.scope.to_dict(),
            "id": self.capability.id,
            "title": self.capability.title,
            "level": self.capability.level,
            "status": self.status,
            "evidence": self.evidence,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.settle_with:
            out["settle_with"] = list(self.settle_with)
        if self.unobserved:
            out["unobserved"] = self.unobserved
        if self.members is not None:
            out["members"] = dict(self.members)
        if self.waiver:
            out["waiver"] = self.waiver
        return out


@dataclass
class Assessed:
    """Capability results of every subject, and who the subjects are."""

    results: list[CapabilityResult]
    subjects: Subjects

    def by_scope(self) -> dict[Scope, dict[str, CapabilityResult]]:
        out: dict[Scope, dict[str, CapabilityResult]] = defaultdict(dict)
        for r in self.results:
            out[r.scope][r.capability.id] = r
        return out


def _where_ok(m: Matcher, attrs: dict[str, Any]) -> bool:
    for key, want in m.where:
        have = attrs.get(key)
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


class _Index:
    def __init__(self, facts: Iterable[Fact]):
        self.by_signal: dict[str, list[Fact]] = defaultdict(list)
        for f in facts:
            self.by_signal[f.signal].append(f)

    def find(self, m: Matcher) -> list[Fact]:
        if "*" not in m.signal:  # most matchers name one signal: a lookup, not a scan
            return [f for f in self.by_signal.get(m.signal, ()) if _where_ok(m, f.attributes)]
        return [f for sig, fs in self.by_signal.items() if matches(m.signal, sig)
                for f in fs if _where_ok(m, f.attributes)]


def _cite(facts: Iterable[Fact]) -> list[str]:
    return sorted({i for f in facts for i in f.ids})


def evaluate(cap: Capability, index: _Index) -> tuple[str, list[str]]:
    """Status (met, partial or unmet) and cited evidence ids for one capability over facts."""
    weaker: list[Fact] = []
    for alt in cap.met:
        used: list[Fact] = []
        ok = True
        for m in alt:
            found = index.find(m)
            strong = [f for f in found if f.strength >= m.strength]
            if len({f.ids for f in strong}) < m.min_count:
                ok = False
            used += strong
            weaker += found
        if ok:
            return MET, _cite(used)[:CITE_LIMIT]
    for alt in cap.partial:
        per_matcher = [index.find(m) for m in alt]
        if all(per_matcher):
            return PARTIAL, _cite(f for found in per_matcher for f in found)[:CITE_LIMIT]
    if weaker:
        return PARTIAL, _cite(weaker)[:CITE_LIMIT]
    return UNMET, []


def waiver_applies(w: Any, scope: Scope, team: str | None = None) -> bool:
    """A waiver for the organisation reaches everyone; one for a team reaches the team and
    its projects; one for a target reaches that target."""
    return (w.scope in ("org", "*") or w.scope == f"{scope.kind}:{scope.name}"
            or (team is not None and scope.kind == "target" and w.scope == f"team:{team}"))


def _waiver_for(cap_id: str, scope: Scope, waivers: Sequence[Any], today: date,
                team: str | None = None) -> dict | None:
    for w in waivers:
        if w.capability != cap_id:
            continue
        if w.expires is not None and w.expires < today:
            continue
        if waiver_applies(w, scope, team):
            return {"reason": w.reason, "scope": w.scope,
                    "expires": w.expires.isoformat() if w.expires else None}
    return None


def names_text(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c' — or the first :data:`MAX_NAMES` and how many more (a
    fleet's roll-up may stand for hundreds; ``settle_with`` keeps every name). The one way
    reasons and reports list names."""
    if len(names) > MAX_NAMES:
        return f"{', '.join(names[:MAX_NAMES])} and {len(names) - MAX_NAMES} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


#: target kinds said with a vowel sound though spelled with a consonant ("an MLflow target")
SAID_WITH_A_VOWEL = frozenset({"mlflow"})


def add_target(kinds: Sequence[str]) -> str:
    """'add a kubernetes or aws target', 'add an aws target', 'add an mlflow target': the
    one wording of this advice, for the engine's reasons and every report."""
    first = kinds[0]
    article = "an" if first[:1] in "aeiou" or first in SAID_WITH_A_VOWEL else "a"
    return f"add {article} {' or '.join(kinds)} target"


def _kinds_phrase(kinds: Sequence[str]) -> str:
    if not kinds:
        return "the audited sources"
    return " and ".join(kinds) + (" alone" if len(kinds) == 1 else "")


class _View:
    """The facts, unobserved records and source kinds one subject sees, split by what counts
    for project capabilities and what counts for platform capabilities."""

    def __init__(self, reach: Reach, by_target: dict[str, list[Fact]], ev_by_id: dict[str, Fact],
                 link_facts: _LinkIndex, owner_of: dict[str, str],
                 unobserved: dict[str, list[Unobserved]], kind_of: dict[str, str],
                 observes: dict[str, tuple[str, ...]]):
        own_ids = {i for t in reach.own for f in by_target.get(t, ()) for i in f.ids}
        project_facts = [f for t in sorted(reach.own) for f in by_target.get(t, ())]
        project_facts += [ev_by_id[i] for i in sorted(reach.attributed) if i in ev_by_id]
        near = own_ids | set(reach.attributed)
        project_facts += link_facts.touching_ids(near)
        # The platform a project stands on: the sources serving its team and the organisation,
        # and any source that links show running or holding its work (a cluster running its
        # image): their platform properties (audit logging, access control) are its own.
        contributing = {owner_of[i] for i in reach.attributed if i in owner_of}
        platform = (set(reach.platform) | contributing) - set(reach.own)
        platform_facts = [f for t in sorted(platform) for f in by_target.get(t, ())]
        platform_facts += link_facts.touching_targets(platform)
        self.project = _Index(project_facts)
        self.platform = _Index(project_facts + platform_facts)
        self.kinds = sorted({kind_of[t] for t in reach.targets | contributing if t in kind_of})
        self.gaps = [u for t in sorted(reach.targets) for u in unobserved.get(t, ())]
        self.observes = {c for k in self.kinds for c in observes.get(k, ())}

    def can_see_absence(self, cap: Capability) -> bool:
        return (bool(set(cap.observable_from) & set(self.kinds))
                or cap.id in self.observes or "*" in self.observes)

    def judge(self, cap: Capability) -> tuple[str, list[str], list[str], str, tuple[str, ...]]:
        """(status, cited, unobserved lines, reason, settle_with) for one capability."""
        index = self.platform if cap.level == "platform" else self.project
        status, cited = evaluate(cap, index)
        if status == MET:
            return status, cited, [], "", ()
        blind = sorted({f"{u.target}: {u.what}: {u.reason}" for u in self.gaps
                        if any(u.covers(m.signal) for m in cap.matchers())})
        if status == UNMET and blind:
            targets = tuple(sorted({line.split(":", 1)[0] for line in blind}))
            return UNKNOWN, cited, blind[:BLIND_LIMIT], f"{BLIND} {names_text(targets)}", targets
        if status == UNMET and not self.can_see_absence(cap):
            wanted = tuple(k for k in cap.observable_from if k not in self.kinds)
            reason = f"not observable from {_kinds_phrase(self.kinds)} — {add_target(wanted)} to confirm"
            return UNKNOWN, cited, blind[:BLIND_LIMIT], reason, wanted
        return status, cited, blind[:BLIND_LIMIT], "", ()


def _facts(evidence: Sequence[Evidence], links: Sequence[Link]):
    by_target: dict[str, list[Fact]] = defaultdict(list)
    ev_by_id: dict[str, Fact] = {}
    owner_of: dict[str, str] = {}
    for ev in evidence:
        fact = Fact.of(ev)
        by_target[ev.target].append(fact)
        ev_by_id[ev.id] = fact
        owner_of[ev.id] = ev.target
    return by_target, ev_by_id, owner_of, _LinkIndex(links)


class _LinkIndex:
    """Resolved links as facts, indexed by the evidence ids and the targets at their ends, so
    each subject finds its links without scanning every link (cost grows with the links a
    subject touches, not with projects × links)."""

    def __init__(self, links: Sequence[Link]):
        self.facts = [Fact(link.signal, int(link.strength), {"key": link.key},
                           (link.source.id, link.target.id)) for link in links]
        self.by_id: dict[str, list[int]] = defaultdict(list)
        self.by_target: dict[str, list[int]] = defaultdict(list)
        for k, link in enumerate(links):
            for ev in (link.source, link.target):
                self.by_id[ev.id].append(k)
                self.by_target[ev.target].append(k)

    def touching_ids(self, ids: Iterable[str]) -> list[Fact]:
        found = {k for i in ids for k in self.by_id.get(i, ())}
        return [self.facts[k] for k in sorted(found)]

    def touching_targets(self, targets: Iterable[str]) -> list[Fact]:
        found = {k for t in targets for k in self.by_target.get(t, ())}
        return [self.facts[k] for k in sorted(found)]


class Smallest:
    """The ``limit`` smallest distinct values seen, in order: the start of a sorted list of
    everything seen, without holding everything (a roll-up's cited ids over a fleet)."""

    __slots__ = ("limit", "values")

    def __init__(self, limit: int):
        self.limit = limit
        self.values: list[str] = []

    def add(self, value: str) -> None:
        values = self.values
        if len(values) >= self.limit and value >= values[-1]:
            return
        i = bisect_left(values, value)
        if i < len(values) and values[i] == value:
            return
        values.insert(i, value)
        del values[self.limit:]


class _Rollup:
    """One capability of one team or the organisation, rolled up from its member projects'
    results as each is judged: what the result needs, never the members' results."""

    __slots__ = ("counts", "cited", "blind", "settle", "unread", "shared", "satisfied")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.cited = Smallest(CITE_LIMIT)
        self.blind = Smallest(BLIND_LIMIT)
        self.settle: dict[str, None] = {}    # kinds to add, from members not unread
        self.unread: dict[str, None] = {}    # targets that could not be read
        self.shared: set[str] = set()        # reasons of unknown members (two are enough)
        self.satisfied = True

    def add(self, r: CapabilityResult) -> None:
        self.counts[r.status] += 1
        for i in r.evidence:
            self.cited.add(i)
        for line in r.unobserved:
            self.blind.add(line)
        if r.status == UNKNOWN and r.reason.startswith(BLIND):
            self.unread.update(dict.fromkeys(r.settle_with))
        else:
            self.settle.update(dict.fromkeys(r.settle_with))
            if r.status == UNKNOWN and len(self.shared) < 2:
                self.shared.add(r.reason)
        self.satisfied = self.satisfied and r.satisfied

    def result(self, scope: Scope, cap: Capability, waiver: dict | None) -> CapabilityResult:
        counts, total = self.counts, sum(self.counts.values())
        if counts[MET] == total:
            status = MET
        elif counts[MET] or counts[PARTIAL]:
            status = PARTIAL
        elif counts[UNKNOWN]:
            status = UNKNOWN
        else:
            status = UNMET
        # kinds of source to add, in catalog order; only when no member needs one, the targets
        # that could not be read (the two are settled differently, and named differently)
        settle = tuple(self.settle)
        reason = ""
        if counts[UNKNOWN]:
            reason = COUNT_PHRASE.format(counts[UNKNOWN], total)
            if not settle and self.unread:
                settle = tuple(self.unread)
                reason = f"{BLIND} {names_text(settle)} ({reason})"
            elif len(self.shared) == 1 and (only := next(iter(self.shared))):
                # one reason shared by every unknown member is the roll-up's too ("not
                # observable from git alone (unknown for 9 of 10 projects) — add a kubernetes
                # … target")
                why, sep, advice = only.partition(" — ")
                reason = f"{why} ({reason}){sep}{advice}"
        return CapabilityResult(scope, cap, status, list(self.cited.values), list(self.blind.values),
                                waiver, reason, settle, {s: counts[s] for s in STATUSES},
                                self.satisfied)


class Judge:
    """Capability statuses for every subject, one project at a time.

    Holds what every project may see — the platform sources' facts, resolved links, who is
    in whose reach, unobserved records — and, for each team and the organisation, a
    :class:`_Rollup` per capability. :meth:`project` judges one project on its own evidence
    (handed in, then let go) and feeds the roll-ups; :meth:`rest` gives the teams' and the
    organisation's results. A fleet's evidence and results are never all held."""

    def __init__(self, capabilities: dict[str, Capability], targets: Sequence[Target],
                 subjects: Subjects, platform_evidence: Sequence[Evidence],
                 unobserved: Sequence[Unobserved], links: Sequence[Link], waivers: Sequence[Any] = (),
                 today: date | None = None, observes: dict[str, tuple[str, ...]] | None = None):
        self.capabilities = capabilities
        self.subjects = subjects
        self.waivers = waivers
        self.today = today or date.today()
        self.observes = observes or {}
        self.by_target, self.ev_by_id, self.owner_of, self.link_facts = _facts(platform_evidence, links)
        self.unobserved: dict[str, list[Unobserved]] = defaultdict(list)
        for u in unobserved:
            self.unobserved[u.target].append(u)
        self.kind_of = {t.name: t.kind for t in targets}
        self.team_of = {t.name: t.team for t in targets}
        # the same reason ("not observable from git alone — add …") held once, not per project
        self.reasons: dict[str, str] = {}
        self.rollups: dict[Scope, dict[str, _Rollup]] = {}
        for team, names in subjects.teams.items():
            if names:
                self.rollups[Scope("team", team)] = {c: _Rollup() for c in capabilities}
        if subjects.projects:
            self.rollups[ORG] = {c: _Rollup() for c in capabilities}

    def project(self, name: str, evidence: Iterable[Evidence]) -> list[CapabilityResult]:
        """One project's results, judged on ``evidence`` (its own) and what it reaches."""
        self.by_target[name] = [Fact.of(ev) for ev in evidence]
        try:
            team = self.team_of.get(name)
            results = self._judge(self.subjects.projects[name], team)
        finally:
            del self.by_target[name]
        for scope in (Scope("team", team) if team else None, ORG):
            rollup = self.rollups.get(scope)  # type: ignore[arg-type]
            if rollup is not None:
                for r in results:
                    rollup[r.capability.id].add(r)
        return results

    def rest(self) -> list[CapabilityResult]:
        """The teams' results (rolled up, or judged on pooled evidence when a team has no
        project), then the organisation's — once every project was judged."""
        out: list[CapabilityResult] = []
        scopes = [Scope("team", team) for team in self.subjects.teams] + [ORG]
        for scope in scopes:
            if scope in self.rollups:
                out += [acc.result(scope, self.capabilities[cid],
                                   _waiver_for(cid, scope, self.waivers, self.today))
                        for cid, acc in self.rollups[scope].items()]
            else:
                out += self._judge(self.subjects.pooled[scope], None)
        return out

    def _judge(self, reach: Reach, team: str | None) -> list[CapabilityResult]:
        view = _View(reach, self.by_target, self.ev_by_id, self.link_facts, self.owner_of,
                     self.unobserved, self.kind_of, self.observes)
        out = []
        for cap in self.capabilities.values():
            status, cited, blind, reason, settle = view.judge(cap)
            out.append(CapabilityResult(reach.scope, cap, status, cited, blind,
                                        _waiver_for(cap.id, reach.scope, self.waivers, self.today, team),
                                        self.reasons.setdefault(reason, reason), settle))
        return out


def assess_capabilities(
    capabilities: dict[str, Capability],
    targets: Sequence[Target],
    evidence: Sequence[Evidence],
    unobserved: Sequence[Unobserved],
    links: Sequence[Link],
    waivers: Sequence[Any] = (),
    today: date | None = None,
    project_kinds: Iterable[str] = ("git",),
    observes: dict[str, tuple[str, ...]] | None = None,
) -> Assessed:
    """Capability statuses for every subject: each project, each team, the organisation (a
    :class:`Judge` over evidence already in memory)."""
    subjects = plan(targets, project_kinds, evidence, links)
    own: dict[str, list[Evidence]] = defaultdict(list)
    platform = []
    for ev in evidence:
        if ev.target in subjects.projects:
            own[ev.target].append(ev)
        else:
            platform.append(ev)
    judge = Judge(capabilities, targets, subjects, platform, unobserved, links, waivers, today,
                  observes)
    results = [r for name in sorted(subjects.projects) for r in judge.project(name, own[name])]
    return Assessed(results + judge.rest(), subjects)


def describe_sources(capabilities: dict[str, Capability], subjects: Subjects,
                     evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
    """What each platform source provides (capabilities its own evidence meets or partly
    meets), which scope it serves, and which projects links attribute its evidence to.
    Sources are not subjects: they get no placement of their own. ``evidence``: the
    sources' (a project's is ignored)."""
    sources = subjects.sources
    by_target, _, owner, _ = _facts([ev for ev in evidence if ev.target in sources], ())
    linked: dict[str, set[str]] = defaultdict(set)
    for project, reach in subjects.projects.items():
        for i in reach.attributed:
            if i in owner:
                linked[owner[i]].add(project)
    out = []
    for name, scope in sorted(sources.items()):
        index = _Index(by_target.get(name, ()))
        provides = []
        for cap in capabilities.values():
            status, _ = evaluate(cap, index)
            if status != UNMET:
                provides.append({"capability": cap.id, "title": cap.title, "status": status})
        out.append({"target": name, "serves": scope.to_dict(), "evidence": len(by_target.get(name, ())),
                    "provides": provides, "linked_projects": sorted(linked.get(name, ()))})
    return out
