"""The engine places scopes by the strict ladder and never accuses what it could not see."""

from __future__ import annotations

from auditor import catalog, links
from auditor.engine import assess_capabilities, place
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import Target

SEVEN = catalog.frameworks()["seven_stages"]


def ev(signal, target="a", strength=Strength.CONFIGURED, **attrs):
    return Evidence(signal=signal, strength=strength, target=target,
                    locator=f"test://{target}/{signal}/{sorted(attrs.items())}", attributes=attrs)


STAGE1 = [ev("vcs.repository", strength=Strength.OPERATING), ev("env.lockfile"), ev("compute.workspace")]


ONE = (Target("a", "git"),)


def run(evidence, targets=ONE, unobserved=(), waivers=()):
    resolved = links.resolve(evidence)
    results = assess_capabilities(catalog.capabilities(), list(targets), evidence, list(unobserved),
                                  resolved, waivers)
    placements = {(p["scope"]["kind"], p["scope"]["name"]): p for p in place(SEVEN, results)}
    caps = {(r.scope.kind, r.scope.name, r.capability.id): r for r in results}
    return placements, caps


def test_nothing_is_stage_zero_with_stage_one_blockers_and_next_steps():
    placements, _ = run([])
    p = placements[("target", "a")]
    assert p["stage"] == 0
    assert {b["capability"] for b in p["blockers"]} == {"version_control", "reproducible_environment",
                                                        "self_service_compute"}
    assert all(len(b["next_step"]) > 20 for b in p["blockers"])


def test_stage_one_met_cites_evidence():
    placements, caps = run(STAGE1)
    assert placements[("target", "a")]["stage"] == 1
    met = caps[("target", "a", "reproducible_environment")]
    assert met.status == "met" and met.evidence == [STAGE1[1].id]


def test_weaker_strength_is_partial_not_met():
    placements, caps = run([ev("vcs.repository", strength=Strength.DECLARED)])
    assert caps[("target", "a", "version_control")].status == "partial"
    assert placements[("target", "a")]["stage"] == 0


def test_strict_ladder_higher_capabilities_do_not_lift_placement_but_are_listed():
    evidence = STAGE1 + [ev("monitoring.model_rule"), ev("data_validation.check")]
    placements, _ = run(evidence)
    p = placements[("target", "a")]
    assert p["stage"] == 1
    assert {m["capability"] for m in p["met_above"]} == {"model_monitoring", "data_validation"}


def test_all_of_alternative_needs_every_part():
    _, caps = run([ev("ci.pipeline")])
    assert caps[("target", "a", "ci_cd_deployment")].status == "partial"
    _, caps = run([ev("ci.pipeline"), ev("ci.deploy_step")])
    assert caps[("target", "a", "ci_cd_deployment")].status == "met"


def test_where_clause_filters_on_attributes():
    _, caps = run([ev("env.pinned_requirements", fully_pinned=False)])
    assert caps[("target", "a", "reproducible_environment")].status == "partial"
    _, caps = run([ev("env.pinned_requirements", fully_pinned=True)])
    assert caps[("target", "a", "reproducible_environment")].status == "met"


def test_unobserved_source_makes_capability_unknown_not_unmet():
    gap = Unobserved("a", "mlflow", "model registry", "403 Forbidden", ("registry",))
    placements, caps = run(STAGE1, unobserved=[gap])
    assert caps[("target", "a", "model_registry")].status == "unknown"
    assert caps[("target", "a", "feature_store")].status == "unmet"  # registry gap hides no feature store
    assert "403 Forbidden" in caps[("target", "a", "model_registry")].unobserved[0]


def test_unknown_blocker_makes_placement_uncertain():
    gap = Unobserved("a", "mlflow", "server", "unreachable", ("tracking", "schedule"))
    placements, _ = run(STAGE1, unobserved=[gap])
    p = placements[("target", "a")]
    assert p["stage"] == 1 and p["certain"] is False
    assert {b["status"] for b in p["blockers"]} >= {"unknown"}


def test_team_and_org_scopes_pool_evidence_of_their_targets():
    targets = [Target("a", "git", {"team": "t1"}), Target("b", "git", {"team": "t1"}),
               Target("c", "git", {"team": "t2"})]
    evidence = [ev("vcs.repository", "a", Strength.OPERATING), ev("env.lockfile", "b"),
                ev("compute.workspace", "c")]
    placements, _ = run(evidence, targets)
    assert placements[("target", "a")]["stage"] == 0
    assert placements[("team", "t1")]["stage"] == 0
    assert placements[("org", "organisation")]["stage"] == 1


def test_links_resolve_across_targets_and_cite_both_ends():
    run_ev = ev("lineage.code", "m", Strength.OPERATING, links_to=["commit:" + "a" * 40])
    commit = ev("vcs.commit", "g", Strength.OPERATING, link_keys=["commit:" + "a" * 40])
    unrelated = ev("lineage.code", "m", Strength.OPERATING, links_to=["commit:" + "b" * 40])
    targets = [Target("m", "mlflow"), Target("g", "git")]
    _, caps = run([run_ev, commit, unrelated], targets)
    integ = caps[("org", "organisation", "cross_source_integration")]
    assert integ.status == "met" and integ.evidence == sorted([run_ev.id, commit.id])
    assert caps[("target", "m", "cross_source_integration")].status == "met"


def test_waiver_satisfies_the_ladder_until_it_expires():
    from datetime import date

    from auditor.config import WaiverModel

    evidence = STAGE1
    w = WaiverModel(capability="self_service_compute", scope="target:a", reason="batch only",
                    expires=date(2030, 1, 1))
    placements, caps = run([e for e in evidence if e.signal != "compute.workspace"], waivers=[w])
    assert placements[("target", "a")]["stage"] == 1
    assert caps[("target", "a", "self_service_compute")].waiver["reason"] == "batch only"
    expired = w.model_copy(update={"expires": date(2020, 1, 1)})
    placements, _ = run([e for e in evidence if e.signal != "compute.workspace"], waivers=[expired])
    assert placements[("target", "a")]["stage"] == 0


def test_every_framework_references_known_capabilities():
    for fw in catalog.frameworks().values():
        for stage in fw.stages:
            assert set(stage.all_requirements()) <= set(catalog.capabilities())
