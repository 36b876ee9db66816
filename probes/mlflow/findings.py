"""Evidence built from the summaries. Strength rules, stated once:

* OPERATING — seen happening recently (runs in the last 30 days, READY model versions).
* CONFIGURED — set up and used, but not recently; or recorded by automation (lineage tags).
* DECLARED — present but not shown to work: a check logged only from notebooks or local
  scripts (NOTEBOOK/LOCAL source), a tool that is merely installed, nested runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from auditor.evidence import Evidence, Strength
from auditor.probe import make_evidence
from auditor.refs import commit_key, model_key
from probes.mlflow.registry import ModelSummary
from probes.mlflow.runs import DAY_MS, CategoryHits, ExperimentRuns, clip

TEAM_TAGS = ("team", "owner_team", "group", "department", "squad")

#: category of metric/tag/artifact names -> signal it is evidence for
CHECK_SIGNALS = {
    "data_quality": "data_validation.check",
    "fairness": "fairness.check",
    "explainability": "explainability.check",
}


class Emitter:
    """Builds evidence for one target and host (keeps the call sites short)."""

    def __init__(self, target: str, host: str) -> None:
        self.target = target
        self.host = host

    def loc(self, *parts: str) -> str:
        path = "/".join(quote(str(p), safe="") for p in parts)
        return f"mlflow://{self.host}/{path}" if path else f"mlflow://{self.host}"

    def ev(self, signal: str, strength: Strength, locator: str, excerpt: str = "",
           **attributes: Any) -> Evidence:
        return make_evidence(self.target, signal, strength, locator, attributes, excerpt)


def team_of(tags: dict[str, str]) -> str:
    for key, value in (tags or {}).items():
        if key.lower() in TEAM_TAGS and str(value).strip():
            return clip(value, 60)
    return ""


def server(em: Emitter, scheme: str, version: str | None, auth: bool | None) -> Iterator[Evidence]:
    attrs: dict[str, Any] = {"tool": "mlflow-server", "url": f"{scheme}://{em.host}",
                             "auth_enforced": auth}
    if version:
        attrs["version"] = version
    yield em.ev("tracking.server", Strength.OPERATING, em.loc(),
                f"MLflow server {version or '(version not reported)'}; "
                f"authentication {'enforced' if auth else 'not enforced' if auth is False else 'unknown'}",
                **attrs)
    for category in ("experiment_tracking", "model_registry"):
        yield em.ev(f"tool.{category}", Strength.DECLARED, em.loc(), tool="mlflow")


def experiments(em: Emitter, exps: list[Any]) -> Iterator[Evidence]:
    active = [e for e in exps if e.lifecycle_stage == "active"]
    deleted = len(exps) - len(active)
    own = [e for e in active if not (e.experiment_id == "0" and e.name == "Default")]
    described = sum(bool((e.tags or {}).get("mlflow.note.content", "").strip()) for e in own)
    tagged = sum(any(not k.startswith("mlflow.") for k in (e.tags or {})) for e in own)
    strength = Strength.CONFIGURED if own else Strength.DECLARED
    yield em.ev("tracking.experiments", strength, em.loc("experiments"),
                f"{len(active)} active and {deleted} deleted experiments",
                total=len(exps), active=len(active), deleted=deleted, described=described,
                tagged=tagged)
    if own and (described or tagged):
        share = max(described, tagged) / len(own)
        yield em.ev("metadata.described",
                    Strength.CONFIGURED if share >= 0.5 else Strength.DECLARED,
                    em.loc("experiments"), f"{described} of {len(own)} experiments described",
                    kind="experiments", described=described, tagged=tagged, total=len(own))


def _strength(hit: CategoryHits) -> Strength:
    """A check run by automation counts as set up; one run by hand only as declared."""
    if hit.recent_automated_runs:
        return Strength.OPERATING
    if hit.automated_runs:
        return Strength.CONFIGURED
    return Strength.DECLARED


def experiment_runs(em: Emitter, exp: Any, s: ExperimentRuns) -> Iterator[Evidence]:
    if not s.sampled:
        return
    eid, name = s.experiment_id, clip(exp.name, 120) if exp is not None else s.experiment_id
    # origin: a link that attributes one of these facts to a repository (a run's commit)
    # attributes the whole experiment's evidence to it
    base = {"experiment": name, "experiment_id": eid, "sampled_runs": s.sampled,
            "sample_truncated": s.truncated, "origin": f"experiment:{eid}"}
    if s.skipped:
        base["skipped_runs"] = s.skipped
    run_loc = lambda run_id: em.loc("experiments", eid, "runs", run_id)  # noqa: E731
    yield em.ev("tracking.runs", Strength.OPERATING if s.last_30d else Strength.CONFIGURED,
                em.loc("experiments", eid),
                f"{s.sampled} runs sampled in '{name}', {s.last_30d} in the last 30 days",
                **base, last_7d=s.last_7d, last_30d=s.last_30d, last_90d=s.last_90d,
                days_since_last_run=s.last_run_days, users=len(s.users),
                sources=dict(sorted(s.sources.items())[:10]), runs_with_params=s.with_params,
                runs_with_metrics=s.with_metrics)
    if s.automated:
        yield em.ev("schedule.job", Strength.OPERATING if s.automated_recent else Strength.CONFIGURED,
                    run_loc(s.automated_run_id),
                    f"{s.automated} runs from JOB/PROJECT sources in '{name}'",
                    **base, automated_runs=s.automated, recent_automated_runs=s.automated_recent,
                    databricks_job_runs=s.databricks_jobs)
    if s.with_commit:
        attrs: dict[str, Any] = {"runs_with_commit": s.with_commit, "repo_urls": s.repo_urls,
                                 "commits": len(s.commits)}
        if s.commits:
            attrs["links_to"] = [k for k in map(commit_key, s.commits) if k]
        yield em.ev("lineage.code", Strength.CONFIGURED, run_loc(s.commit_run_id),
                    f"mlflow.source.git.commit on {s.with_commit} of {s.sampled} runs",
                    **base, **attrs)
    if s.with_datasets:
        yield em.ev("lineage.data", Strength.CONFIGURED, run_loc(s.dataset_run_id),
                    f"dataset inputs on {s.with_datasets} of {s.sampled} runs",
                    **base, runs_with_datasets=s.with_datasets, datasets=s.datasets)
    if s.distributed_runs:
        yield em.ev("distributed.workload", Strength.CONFIGURED, run_loc(s.distributed_run_id),
                    f"{s.distributed_runs} runs with multi-worker parameters",
                    **base, kind="multi_worker_params", runs=s.distributed_runs)
    if s.children > len(s.parents):
        # A parent with several child runs: a tuning sweep or pipeline steps. It shows fan-out,
        # not that the work ran on several machines, hence only declared.
        yield em.ev("distributed.workload", Strength.DECLARED, em.loc("experiments", eid),
                    f"{s.children} nested runs under {len(s.parents)} parent runs",
                    **base, kind="nested_runs", child_runs=s.children, parent_runs=len(s.parents))
    if s.gpu_runs:
        yield em.ev("compute.gpu_workload", Strength.OPERATING if s.gpu_recent else Strength.CONFIGURED,
                    run_loc(s.gpu_run_id), f"GPU system metrics on {s.gpu_runs} runs",
                    **base, gpu_runs=s.gpu_runs)
    yield from _checks(em, s, base, run_loc)


def _checks(em: Emitter, s: ExperimentRuns, base: dict[str, Any], run_loc: Any) -> Iterator[Evidence]:
    def hit_ev(signal: str, hit: CategoryHits, strength: Strength, what: str, **extra: Any) -> Evidence:
        return em.ev(signal, strength, run_loc(hit.run_id),
                     f"{what} on {hit.runs} runs: {', '.join(hit.names[:5])}",
                     **base, runs=hit.runs, automated_runs=hit.automated_runs,
                     names=hit.names, **extra)

    drift = s.hits.get("drift")
    if drift:
        yield hit_ev("monitoring.model_metric", drift,
                     Strength.OPERATING if drift.recent_runs else Strength.CONFIGURED, "drift metrics")
        if drift.automated_runs:
            yield hit_ev("monitoring.model_job", drift,
                         Strength.OPERATING if drift.recent_automated_runs else Strength.CONFIGURED,
                         "drift metrics from scheduled runs")
    for category, signal in CHECK_SIGNALS.items():
        hit = s.hits.get(category)
        if hit:
            yield hit_ev(signal, hit, _strength(hit), category.replace("_", " ") + " metrics")
    gate, evaluation = s.hits.get("gate"), s.hits.get("evaluation")
    if gate:
        yield hit_ev("validation.gate", gate, _strength(gate), "validation results",
                     kind="threshold")
    elif evaluation:
        # mlflow.evaluate output in an automated run: an evaluation step in the pipeline.
        # MLflow does not record whether it blocked a promotion, so at most configured.
        yield hit_ev("validation.gate", evaluation, min(_strength(evaluation), Strength.CONFIGURED),
                     "model evaluation outputs", kind="evaluation")


def run_totals(em: Emitter, exps: dict[str, Any], summaries: list[ExperimentRuns],
               now_ms: int) -> Iterator[Evidence]:
    sampled = sum(s.sampled for s in summaries)
    if not sampled:
        return
    window_start = now_ms - 28 * DAY_MS
    lower_bound = any(s.truncated and s.oldest_ms > window_start for s in summaries)
    per_week = round(sum(s.last_28d for s in summaries) / 4, 2)
    yield em.ev("tempo.training_runs_per_week", Strength.OPERATING, em.loc("experiments"),
                f"{per_week} runs per week over the last 28 days",
                value=per_week, unit="per_week", window_days=28, sampled_runs=sampled,
                lower_bound=lower_bound)
    users: set[str] = set()
    for s in summaries:
        users |= s.users
    teams: dict[str, bool] = {}
    for s in summaries:
        team = team_of(getattr(exps.get(s.experiment_id), "tags", {}) or {})
        if team:
            teams[team] = teams.get(team, False) or s.last_30d > 0
    yield from _shared(em, users, teams)


def _shared(em: Emitter, users: set[str], teams: dict[str, bool]) -> Iterator[Evidence]:
    active_teams = sum(teams.values())
    if len(teams) >= 2:
        strength = Strength.OPERATING if active_teams >= 2 else Strength.CONFIGURED
    elif len(users) >= 3:
        strength = Strength.DECLARED  # several people, but nothing says several teams
    else:
        return
    yield em.ev("platform.shared", strength, em.loc("experiments"),
                f"{len(teams)} teams and {len(users)} users log runs to this server",
                teams=len(teams), team_names=sorted(teams)[:20], active_teams=active_teams,
                users=len(users))


def registry(em: Emitter, models: list[ModelSummary], versions_sampled: int, truncated: bool,
             now_ms: int) -> Iterator[Evidence]:
    for m in models:
        yield from _model(em, m, now_ms)
    if not models:
        return
    described = sum(m.description for m in models)
    tagged = sum(bool(m.tags) for m in models)
    share = max(described, tagged) / len(models)
    if described or tagged:
        yield em.ev("metadata.described", Strength.CONFIGURED if share >= 0.5 else Strength.DECLARED,
                    em.loc("models"), f"{described} of {len(models)} registered models described",
                    kind="registered_models", described=described, tagged=tagged, total=len(models))
    with_run = sum(m.versions - m.without_run for m in models)
    without = sum(m.without_run for m in models)
    if with_run:
        yield em.ev("lineage.model", Strength.CONFIGURED, em.loc("models"),
                    f"{with_run} model versions name their source run; {without} do not",
                    versions_with_source_run=with_run, versions_without_source_run=without,
                    models_with_gaps=sorted(m.name for m in models if m.without_run)[:20],
                    sampled_versions=versions_sampled, sample_truncated=truncated)
    new = sum(m.new_last_90d for m in models)
    if versions_sampled:
        value = round(new / 3, 2)
        yield em.ev("tempo.model_versions_per_month", Strength.OPERATING, em.loc("models"),
                    f"{value} model versions per month over the last 90 days",
                    value=value, unit="per_month", window_days=90,
                    models_with_new_versions=sum(bool(m.new_last_90d) for m in models),
                    lower_bound=truncated)
    lead = [d for m in models for d in m.promotion_days]
    if lead:
        value = round(statistics.median(lead), 2)
        yield em.ev("tempo.promotion_lead_time_days", Strength.OPERATING, em.loc("models"),
                    f"median {value} days from version creation to its stage",
                    value=value, unit="days", samples=len(lead),
                    method="stage versions: last update minus creation")


def _model(em: Emitter, m: ModelSummary, now_ms: int) -> Iterator[Evidence]:
    version_loc = em.loc("models", m.name, "versions", m.latest_version) if m.latest_version \
        else em.loc("models", m.name)
    strength = Strength.OPERATING if m.ready else Strength.CONFIGURED if m.versions else Strength.DECLARED
    yield em.ev("registry.model_version", strength, version_loc,
                f"model '{clip(m.name, 80)}': {m.versions} versions, aliases "
                f"{', '.join(f'{k}={v}' for k, v in m.aliases.items()) or 'none'}",
                model=clip(m.name, 120), versions=m.versions, latest_version=m.latest_version,
                aliases=m.aliases, stages=dict(sorted(m.stages.items())),
                statuses=dict(sorted(m.statuses.items())),
                pending=m.statuses.get("PENDING_REGISTRATION", 0),
                archived=m.stages.get("Archived", 0),
                versions_without_source_run=m.without_run,
                production_version=m.production_version or None,
                described=m.description, link_keys=[model_key(m.name)])
    if m.approvals:
        loc = em.loc("models", m.name, "versions", m.approval_version) if m.approval_version \
            else em.loc("models", m.name)
        yield em.ev("governance.approval", Strength.CONFIGURED, loc,
                    f"approval recorded in tags: {', '.join(m.approvals)}",
                    model=clip(m.name, 120), tags=m.approvals)
    created = m.created.get(m.production_version) if m.production_version else None
    if created:
        age = round((now_ms - created) / DAY_MS, 2)
        yield em.ev("tempo.production_model_age_days", Strength.OPERATING,
                    em.loc("models", m.name, "versions", m.production_version),
                    f"production version {m.production_version} of '{clip(m.name, 80)}' is {age} days old",
                    value=age, unit="days", model=clip(m.name, 120), version=m.production_version)


def lookup(exps: Iterable[Any]) -> dict[str, Any]:
    return {e.experiment_id: e for e in exps}
