"""The order of work for one MLflow target: server, experiments, runs, registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.errors import ProbeError
from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext, Target
from auditor.redact import one_line
from probes.mlflow import findings
from probes.mlflow.connection import (
    Connection,
    display_host,
    has_credentials,
    registry_store,
    tracking_store,
)
from probes.mlflow.listing import (
    RunSampler,
    list_experiments,
    list_model_versions,
    list_registered_models,
)
from probes.mlflow.registry import summarize_registry
from probes.mlflow.runs import ExperimentRuns, now_ms
from probes.mlflow.settings import MlflowSettings
from probes.mlflow.signals import ALL_SIGNALS, REGISTRY_SIGNALS, RUN_SIGNALS

Found = Iterator[Evidence | Unobserved]


def collect(target: Target, ctx: ProbeContext) -> Found:
    settings: MlflowSettings = target.settings
    try:
        conn = Connection(settings.tracking_uri, settings, ctx.remaining, ctx.requests)
    except Exception as exc:  # e.g. a Databricks profile that does not exist
        yield ctx.unobserved(target, f"MLflow server {display_host(settings.tracking_uri)}",
                             f"cannot resolve credentials: {one_line(exc, 160)}", ALL_SIGNALS)
        return
    em = findings.Emitter(target.name, conn.host)
    what = f"MLflow server {conn.host}"
    try:
        version = conn.server_version()
        store = tracking_store(conn)
        exps = list_experiments(store, ctx.check)
    except ProbeError as exc:
        yield ctx.unobserved(target, what, str(exc), ALL_SIGNALS)
        return
    auth = _auth_enforced(conn)
    scheme = "http" if settings.tracking_uri.startswith("http://") else "https"
    yield from findings.server(em, scheme, version, auth)
    yield from findings.experiments(em, exps)
    dead = yield from _runs(target, ctx, em, store, exps, settings)
    if dead and (settings.registry_uri or settings.tracking_uri) == settings.tracking_uri:
        yield ctx.unobserved(target, f"model registry on {conn.host}",
                             f"skipped: {dead}", REGISTRY_SIGNALS)
        return
    yield from _registry(target, ctx, em, conn, settings)


def _auth_enforced(conn: Connection) -> bool | None:
    """Without credentials our own requests succeeded anonymously: not enforced. With them,
    one anonymous request tells; if that fails, it stays unknown."""
    if not has_credentials(conn.creds):
        return False
    try:
        return conn.auth_enforced()
    except ProbeError:
        return None


def _runs(target: Target, ctx: ProbeContext, em: findings.Emitter, store: Any,
          exps: list[Any], settings: MlflowSettings) -> Iterator[Evidence | Unobserved]:
    """Sample runs per experiment; returns a reason when the server stopped answering."""
    by_id = findings.lookup(exps)
    active = [e.experiment_id for e in exps if e.lifecycle_stage == "active"]
    now = now_ms(ctx.now)
    sampler = RunSampler(store, settings.max_runs_per_experiment, settings.runs_page_size, now,
                         ctx.check)
    done: list[ExperimentRuns] = []
    try:
        for summary in sampler.sample(active):
            done.append(summary)
            yield from findings.experiment_runs(em, by_id.get(summary.experiment_id), summary)
    except ProbeError as exc:
        left = len(active) - len(done)
        yield ctx.unobserved(target, f"runs of {left} of {len(active)} experiments on {em.host}",
                             str(exc), RUN_SIGNALS)
        return str(exc) if exc.fatal else None
    yield from findings.run_totals(em, by_id, done, now)
    return None


def _registry(target: Target, ctx: ProbeContext, em: findings.Emitter, conn: Connection,
              settings: MlflowSettings) -> Found:
    uri = settings.registry_uri or settings.tracking_uri
    what = f"model registry on {display_host(uri)}"
    try:
        rconn = conn if uri == settings.tracking_uri else Connection(uri, settings, ctx.remaining,
                                                                 ctx.requests)
        store = registry_store(rconn)
        models = list_registered_models(store, ctx.check)
        versions, truncated = list_model_versions(store, settings.max_model_versions, ctx.check)
    except ProbeError as exc:
        yield ctx.unobserved(target, what, str(exc), REGISTRY_SIGNALS)
        return
    except Exception as exc:  # credential resolution for a separate registry URI
        yield ctx.unobserved(target, what, f"cannot read the registry: {one_line(exc, 160)}",
                             REGISTRY_SIGNALS)
        return
    now = now_ms(ctx.now)
    yield from findings.registry(em, summarize_registry(models, versions, now), len(versions),
                                 truncated, now)
