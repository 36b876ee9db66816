"""Who is judged on what: subjects (projects, teams, the organisation), the platform sources
in each one's reach, and the evidence that resolved links attribute to a project.

Evidence belongs to its target. A project target (a repository) is judged on its own
evidence plus what links attribute to it; for platform capabilities it also inherits the
evidence of the platform sources that serve it: its team's (``labels.team``) and the
organisation's (no team label). Teams and the organisation roll up their projects'
placements; a team or organisation with no project at all is judged on pooled evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from auditor.evidence import Evidence
from auditor.links import Link
from auditor.probe import Target


@dataclass(frozen=True)
class Scope:
    """What a result is about: a target, a team or the organisation."""

    kind: str  # target | team | org
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}

    def __str__(self) -> str:
        return self.name if self.kind == "org" else f"{self.kind}:{self.name}"


ORG = Scope("org", "organisation")
#: the empty set every reach without attributed evidence shares
NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reach:
    """What one subject is judged on.

    ``own``: targets whose evidence counts for every capability (the project itself, or
    every target of a pooled team/organisation). ``platform``: sources whose evidence counts
    for platform capabilities only. ``attributed``: evidence ids of other targets that links
    attribute to this project."""

    scope: Scope
    own: frozenset[str]
    platform: frozenset[str]
    attributed: frozenset[str] = frozenset()

    @property
    def targets(self) -> frozenset[str]:
        return self.own | self.platform


class Projects(Mapping[str, Reach]):
    """Each project's reach by name, made when it is asked for: what it is made of (the
    project's team, the platform sources each team inherits, what links attribute to it) is
    held, not a reach per project of a fleet."""

    def __init__(self, team_of: dict[str, str | None], inherited: dict[str | None, frozenset[str]],
                 attributed: dict[str, set[str]]):
        self._team_of = team_of
        self._inherited = inherited
        self._attributed = attributed

    def __getitem__(self, name: str) -> Reach:
        team = self._team_of[name]
        attributed = self._attributed.get(name)
        return Reach(Scope("target", name), frozenset({name}), self._inherited[team],
                     frozenset(attributed) if attributed else NONE)

    def __contains__(self, name: object) -> bool:
        return name in self._team_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._team_of)

    def __len__(self) -> int:
        return len(self._team_of)


@dataclass(frozen=True)
class Subjects:
    """Everything judged in one audit and the evidence each one reaches (see :func:`plan`)."""

    projects: Projects                     # project target name → reach
    teams: dict[str, list[str]]            # team → its project names (may be empty)
    pooled: dict[Scope, Reach]             # teams/organisation with no project: pooled reach
    sources: dict[str, Scope]              # platform target → the scope it serves
    teamless: list[str]                    # projects without a team label


def serves(target: Target) -> Scope:
    """The scope a platform source serves: its team, or the whole organisation."""
    return Scope("team", target.team) if target.team else ORG


def plan(targets: Sequence[Target], project_kinds: Iterable[str], evidence: Sequence[Evidence],
         links: Sequence[Link]) -> Subjects:
    kinds = set(project_kinds)
    projects = [t for t in targets if t.kind in kinds]
    platform = [t for t in targets if t.kind not in kinds]
    project_names = {t.name for t in projects}
    attributed = attribute(project_names, evidence, links)

    inherited: dict[str | None, frozenset[str]] = {}  # one set per team, not per project
    for p in projects:
        if p.team not in inherited:
            inherited[p.team] = frozenset(s.name for s in platform if s.team is None or s.team == p.team)

    teams: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        if t.team:
            teams[t.team]  # every labelled team exists, with or without projects
    for p in projects:
        if p.team:
            teams[p.team].append(p.name)
    org_wide = frozenset(s.name for s in platform if s.team is None)
    pooled: dict[Scope, Reach] = {}
    for team, members in teams.items():
        if not members:
            names = frozenset(t.name for t in targets if t.team == team)
            pooled[Scope("team", team)] = Reach(Scope("team", team), names, org_wide)
    if not projects:
        pooled[ORG] = Reach(ORG, frozenset(t.name for t in targets), frozenset())
    return Subjects(
        projects=Projects({p.name: p.team for p in projects}, inherited, attributed),
        teams={k: sorted(v) for k, v in sorted(teams.items())},
        pooled=pooled,
        sources={s.name: serves(s) for s in platform},
        teamless=sorted(p.name for p in projects if not p.team),
    )


def attribute(projects: set[str], evidence: Sequence[Evidence],
              links: Sequence[Link]) -> dict[str, set[str]]:
    """Evidence of platform sources that resolved links attribute to each project.

    A platform fact belongs to a project when it refers to something the project holds or
    produces (a run's commit, a deployment's image built by the project, a served model the
    project registers), or when the project refers to a registered model (it serves or
    loads that model: the registry's versions are its versions). Followed transitively
    through platform evidence (project → image → deployment → served model), never through
    another project's evidence. A base image a repository builds FROM is not attributed.
    Evidence carrying an ``origin`` attribute (an MLflow experiment) brings every fact of the
    same origin in its target along: the experiment whose runs cite the commit is the
    project's experiment."""
    owner = {ev.id: ev.target for ev in evidence if ev.target in projects}
    owned: dict[str, list[str]] = defaultdict(list)
    for i, t in owner.items():
        owned[t].append(i)
    same_origin: dict[tuple[str, str], list[str]] = defaultdict(list)
    origin_of: dict[str, tuple[str, str]] = {}
    for ev in evidence:
        origin = ev.attributes.get("origin")
        if isinstance(origin, str) and ev.target not in projects:
            same_origin[(ev.target, origin)].append(ev.id)
            origin_of[ev.id] = (ev.target, origin)
    edges: dict[str, list[str]] = defaultdict(list)   # evidence id → platform evidence it pulls in
    for link in links:
        src, dst = link.source, link.target
        if src.target not in projects:        # a platform fact refers to something held
            edges[dst.id].append(src.id)
        if link.kind == "model" and dst.target not in projects:
            edges[src.id].append(dst.id)      # something refers to a registered model
    out: dict[str, set[str]] = {}
    for project in sorted(projects):
        seen: set[str] = set()
        frontier = list(owned.get(project, ()))
        while frontier:
            nxt = []
            for i in frontier:
                for j in edges.get(i, ()):
                    if j not in seen and j not in owner:
                        seen.add(j)
                        nxt.append(j)
            frontier = nxt
        for i in list(seen):
            if i in origin_of:
                seen.update(same_origin[origin_of[i]])
        if seen:
            out[project] = seen
    return out
