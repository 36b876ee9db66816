"""``assess`` reads a fleet a target at a time: the same assessment as judging everything at
once, without holding the fleet's evidence."""

from __future__ import annotations

from datetime import UTC, datetime

from auditor import audit, catalog, links
from auditor.audit import ProbeInfo, TargetFacts
from auditor.engine import assess_capabilities
from auditor.evidence import Evidence, Strength
from auditor.placement import place
from auditor.probe import Target
from auditor.spool import FactSpool
from tests.support import traced_peak

NOW = datetime(2026, 12, 7, tzinfo=UTC)
SEVEN = catalog.frameworks()["seven_stages"]


def _fleet(projects: int, bulk: int = 0) -> FactSpool:
    """Repositories in three teams (and some without one), each with CI, a Dockerfile and,
    for a third of them, tests and an experiment tracker; ``bulk`` bytes of attributes on
    each item, as a large fleet's evidence weighs."""
    spool = FactSpool()
    for i in range(projects):
        team = ("red", "blue", "green", None)[i % 4]
        target = Target(f"repo-{i:03d}", "git", {"team": team} if team else {})
        signals = ["vcs.repository", "ci.workflow", "env.dockerfile"]
        if i % 3 == 0:
            signals += ["quality.tests", "tool.experiment_tracking"]
        evidence = [Evidence(signal=s, strength=Strength.OPERATING if s == "vcs.repository" else Strength.CONFIGURED,
                             target=target.name, locator=f"git+file:///srv/{target.name}@abc#{s}",
                             attributes={"tool": "mlflow" if "tracking" in s else "x", "pad": "p" * bulk})
                    for s in signals]
        timing = {"target": target.name, "probe": "git", "seconds": 0.1, "evidence": len(evidence),
                  "status": "ok"}
        spool.add(TargetFacts(target, i, ProbeInfo(project=True), evidence, [], [timing]))
    return spool


def test_judging_a_target_at_a_time_is_judging_everything_at_once() -> None:
    spool = _fleet(40)
    doc = audit.assess(spool, now=NOW, frameworks=["seven_stages"])
    heads = spool.collected()
    evidence = [ev for f in heads for ev in spool.evidence(f.target.name)]
    targets = [f.target for f in heads]
    at_once = assess_capabilities(catalog.capabilities(), targets, evidence, [], links.resolve(evidence),
                                  today=NOW.date())
    assert [c for c in doc["capabilities"]] == [r.to_dict() for r in at_once.results]
    assert list(doc["placements"]) == place(SEVEN, at_once)
    org = doc.placements_of({"kind": "org", "name": "organisation"})[0]
    assert len(org["members"]) == 3 + 10  # three teams and the projects without one
    assert [e["target"] for e in doc["evidence"]] == sorted(e["target"] for e in doc["evidence"])


def test_links_resolve_as_over_the_whole_fleet_reading_only_what_is_referred_to() -> None:
    """A tracking server's runs cite some repositories' commits, and some repositories deploy
    an image another builds: every link is found, though the commits and images nobody
    refers to are never read into the links pass."""
    spool = FactSpool()
    everything = []

    def add(target: Target, index: int, project: bool, evidence: list[Evidence]) -> None:
        everything.extend(evidence)
        spool.add(TargetFacts(target, index, ProbeInfo(project=project), evidence, [],
                              [{"target": target.name, "probe": target.kind, "seconds": 0.1,
                                "evidence": len(evidence), "status": "ok"}]))

    def ev(target: str, signal: str, **attributes: object) -> Evidence:
        return Evidence(signal=signal, strength=Strength.CONFIGURED, target=target,
                        locator=f"{target}#{signal}", attributes=attributes)

    for i in range(30):
        name = f"repo-{i:02d}"
        evidence = [ev(name, "vcs.repository", link_keys=[f"commit:{i:040x}"]),
                    ev(name, "image.versioned", link_keys=[f"image:reg/model-{i}"])]
        if i % 5 == 0:
            evidence.append(ev(name, "serving.deployment", links_to=[f"image:reg/model-{i + 1}"]))
        add(Target(name, "git", {"team": "red" if i % 2 else "blue"}), i, True, evidence)
    runs = [ev("tracking", "experiments.tracking_server", origin="exp-1",
               links_to=[f"commit:{i:040x}" for i in range(0, 30, 3)] + [f"commit:{99:040x}"])]
    add(Target("tracking", "mlflow"), 30, False, runs)

    doc = audit.assess(spool, now=NOW, frameworks=["seven_stages"])
    expected = links.resolve(everything)
    assert list(doc["links"]) == [link.to_dict() for link in expected]
    assert len(expected) == 10 + 6  # ten cited commits, six deployed images
    at_once = assess_capabilities(catalog.capabilities(), [f.target for f in spool.collected()],
                                  everything, [], expected, today=NOW.date())
    assert list(doc["placements"]) == place(SEVEN, at_once)
    assert [s["linked_projects"] for s in doc["sources"]] == [
        [f"repo-{i:02d}" for i in range(0, 30, 3)]]


def test_assess_holds_one_targets_evidence_at_a_time() -> None:
    spool = _fleet(300, bulk=8000)  # about 10 MB of evidence

    names = [f.target.name for f in spool.collected()]
    held = traced_peak(lambda: [spool.evidence(n) for n in names])
    assessed = traced_peak(lambda: audit.assess(spool, now=NOW, frameworks=["seven_stages"]))
    assert held > 8 << 20
    assert assessed < held / 4, (assessed >> 10, held >> 10)
