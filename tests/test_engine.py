"""The engine places scopes by the strict ladder and never accuses what it could not see."""

from __future__ import annotations

from auditor import catalog, links
from auditor.engine import assess_capabilities
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.placement import median_low, place
from auditor.probe import Target

SEVEN = catalog.frameworks()["seven_stages"]


def ev(signal, target="a", strength=Strength.CONFIGURED, **attrs):
    return Evidence(signal=signal, strength=strength, target=target,
                    locator=f"test://{target}/{signal}/{sorted(attrs.items())}", attributes=attrs)


STAGE1 = [ev("vcs.repository", strength=Strength.OPERATING), ev("env.lockfile"), ev("compute.workspace")]


ONE = (Target("a", "git"),)


def run(evidence, targets=ONE, unobserved=(), waivers=(), strict=False):
    resolved = links.resolve(evidence)
    assessed = assess_capabilities(catalog.capabilities(), list(targets), evidence, list(unobserved),
                                   resolved, waivers)
    placements = {(p["scope"]["kind"], p["scope"]["name"]): p
                  for p in place(SEVEN, assessed, strict)}
    caps = {(r.scope.kind, r.scope.name, r.capability.id): r for r in assessed.results}
    return placements, caps


def test_nothing_is_stage_zero_with_stage_one_blockers_and_next_steps():
    placements, _ = run([])
    p = placements[("target", "a")]
    assert p["stage"] == 0
    # a repository cannot show that self-service compute is missing: unknown, not a blocker
    assert {b["capability"] for b in p["blockers"]} == {"version_control", "reproducible_environment"}
    assert [b["capability"] for b in p["unsettled"]] == ["self_service_compute"]
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


def test_unknown_does_not_block_but_makes_the_placement_provisional():
    gap = Unobserved("a", "mlflow", "server", "unreachable", ("tracking", "schedule"))
    stage2 = STAGE1 + [ev("ci.pipeline"), ev("ci.deploy_step"), ev("serving.deployment")]
    placements, caps = run(stage2, unobserved=[gap])
    p = placements[("target", "a")]
    assert caps[("target", "a", "experiment_tracking")].status == "unknown"
    assert p["stage"] == 2 and p["provisional"] and p["strict_stage"] == 1
    assert {a["capability"] for a in p["assumed"]} == {"job_scheduling", "experiment_tracking"}
    strict, _ = run(stage2, unobserved=[gap], strict=True)
    s = strict[("target", "a")]
    assert s["stage"] == 1 and not s["provisional"] and not s["assumed"]
    assert {b["capability"] for b in s["blockers"]} == {"job_scheduling", "experiment_tracking"}
    assert {b["status"] for b in s["blockers"]} == {"unknown"}


def test_platform_capability_not_observable_from_git_is_unknown_with_a_reason():
    placements, caps = run(STAGE1[:2])
    r = caps[("target", "a", "self_service_compute")]
    assert r.status == "unknown"
    assert r.reason == ("not observable from git alone — add a kubernetes or aws target to "
                        "confirm")
    assert placements[("target", "a")]["stage"] == 1 and placements[("target", "a")]["provisional"]
    # with a cluster in reach, its silence means unmet
    targets = ONE + (Target("k8s", "kubernetes"),)
    placements, caps = run(STAGE1[:2], targets)
    assert caps[("target", "a", "self_service_compute")].status == "unmet"
    assert placements[("target", "a")]["stage"] == 0


def test_team_and_org_roll_up_member_stages_never_pool_evidence():
    """Each repository has one stage-1 piece: pooled they would reach stage 1; no member
    does, so neither do the team nor the organisation."""
    targets = [Target("a", "git", {"team": "t1"}), Target("b", "git", {"team": "t1"}),
               Target("c", "git", {"team": "t2"})]
    evidence = [ev("vcs.repository", "a", Strength.OPERATING), ev("env.lockfile", "b"),
                ev("compute.workspace", "c")]
    placements, caps = run(evidence, targets)
    assert placements[("target", "a")]["stage"] == 0
    assert placements[("team", "t1")]["stage"] == 0
    assert placements[("org", "organisation")]["stage"] == 0
    assert placements[("team", "t1")]["basis"] == "members"
    assert caps[("team", "t1", "version_control")].members == {"met": 1, "partial": 0,
                                                               "unmet": 1, "unknown": 0}
    assert caps[("team", "t1", "version_control")].status == "partial"


def test_median_takes_the_lower_middle():
    assert median_low([4, 1, 2]) == 2
    assert median_low([1, 2, 4, 6]) == 2
    assert median_low([3]) == 3


def _stage_evidence(target, stage):
    """Evidence that puts one git target at exactly ``stage`` (1..4) with nothing unknown."""
    out = [ev("vcs.repository", target, Strength.OPERATING), ev("env.lockfile", target),
           ev("compute.workspace", target)]
    if stage >= 2:
        out += [ev("schedule.job", target), ev("tracking.runs", target, Strength.OPERATING),
                ev("ci.pipeline", target), ev("ci.deploy_step", target),
                ev("serving.deployment", target)]
    if stage >= 3:
        out += [ev("pipeline.definition", target), ev("feature_store.definition", target),
                ev("distributed.workload", target), ev("serving.autoscaling", target)]
    if stage >= 4:
        out += [ev("monitoring.model_rule", target), ev("data_validation.check", target)]
    return out


def test_organisation_is_the_median_of_its_teams_with_distribution_and_lowest_member():
    targets = [Target("p1", "git", {"team": "a"}), Target("p2", "git", {"team": "b"}),
               Target("p4", "git", {"team": "c"})]
    evidence = _stage_evidence("p1", 1) + _stage_evidence("p2", 2) + _stage_evidence("p4", 4)
    placements, _ = run(evidence, targets)
    assert [placements[("target", n)]["stage"] for n in ("p1", "p2", "p4")] == [1, 2, 4]
    org = placements[("org", "organisation")]
    assert org["stage"] == 2 and org["basis"] == "members"
    assert {k: v for k, v in org["distribution"].items() if v} == {"1": 1, "2": 1, "4": 1}
    assert org["lowest"] == {"scope": {"kind": "team", "name": "a"}, "stage": 1}
    assert [m["scope"]["name"] for m in org["members"]] == ["a", "b", "c"]


def test_platform_source_lifts_only_the_team_it_serves():
    targets = [Target("x", "git", {"team": "a"}), Target("y", "git", {"team": "b"}),
               Target("hub", "kubernetes", {"team": "a"})]
    evidence = [ev("vcs.repository", "x", Strength.OPERATING), ev("env.lockfile", "x"),
                ev("vcs.repository", "y", Strength.OPERATING), ev("env.lockfile", "y"),
                ev("compute.notebook_server", "hub")]
    placements, caps = run(evidence, targets)
    assert (placements[("target", "x")]["stage"], placements[("target", "x")]["provisional"]) == (1, False)
    assert caps[("target", "x", "self_service_compute")].status == "met"
    assert caps[("target", "y", "self_service_compute")].status == "unknown"
    # a platform source serves projects, it is not placed itself
    placements, _ = run([ev("compute.notebook_server", "hub")], targets)
    assert ("target", "hub") not in placements
    # without a team label it serves everyone
    org_wide = [targets[0], targets[1], Target("hub", "kubernetes")]
    _, caps = run([ev("compute.notebook_server", "hub")], org_wide)
    assert caps[("target", "x", "self_service_compute")].status == "met"
    assert caps[("target", "y", "self_service_compute")].status == "met"


def test_project_capability_from_a_platform_source_needs_a_link():
    sha = "c" * 40
    targets = [Target("x", "git"), Target("y", "git"), Target("ml", "mlflow")]
    runs = ev("tracking.runs", "ml", Strength.OPERATING, links_to=[f"commit:{sha}"])
    commit = ev("vcs.commit", "x", Strength.OPERATING, link_keys=[f"commit:{sha}"])
    _, caps = run([runs, commit], targets)
    assert caps[("target", "x", "experiment_tracking")].status == "met"
    assert runs.id in caps[("target", "x", "experiment_tracking")].evidence
    assert caps[("target", "y", "experiment_tracking")].status == "unmet"


def test_scope_without_projects_is_judged_on_pooled_evidence():
    targets = [Target("ml", "mlflow"), Target("k", "kubernetes")]
    placements, caps = run([ev("tracking.runs", "ml", Strength.OPERATING),
                            ev("compute.notebook_server", "k")], targets)
    org = placements[("org", "organisation")]
    assert org["basis"] == "pooled"
    assert caps[("org", "organisation", "experiment_tracking")].status == "met"
    assert caps[("org", "organisation", "self_service_compute")].status == "met"


def test_links_resolve_across_targets_and_cite_both_ends():
    run_ev = ev("lineage.code", "m", Strength.OPERATING, links_to=["commit:" + "a" * 40])
    commit = ev("vcs.commit", "g", Strength.OPERATING, link_keys=["commit:" + "a" * 40])
    unrelated = ev("lineage.code", "m", Strength.OPERATING, links_to=["commit:" + "b" * 40])
    targets = [Target("m", "mlflow"), Target("g", "git")]
    _, caps = run([run_ev, commit, unrelated], targets)
    integ = caps[("target", "g", "cross_source_integration")]
    assert integ.status == "met" and integ.evidence == sorted([run_ev.id, commit.id])
    assert caps[("org", "organisation", "cross_source_integration")].status == "met"


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
    placements, _ = run([e for e in evidence if e.signal != "compute.workspace"], waivers=[expired],
                        strict=True)
    assert placements[("target", "a")]["stage"] == 0


def test_team_waiver_reaches_the_teams_projects():
    from auditor.config import WaiverModel

    w = WaiverModel(capability="reproducible_environment", scope="team:t", reason="legacy")
    targets = [Target("a", "git", {"team": "t"}), Target("b", "git", {"team": "u"})]
    _, caps = run([], targets, waivers=[w])
    assert caps[("target", "a", "reproducible_environment")].waiver["reason"] == "legacy"
    assert caps[("target", "b", "reproducible_environment")].waiver is None


def test_every_framework_references_known_capabilities():
    for fw in catalog.frameworks().values():
        for stage in fw.stages:
            assert set(stage.all_requirements()) <= set(catalog.capabilities())
