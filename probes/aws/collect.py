"""One audit of one AWS account: identity, regions in parallel, account-wide controls, then
the figures that need every region (tempo, data residency)."""

from __future__ import annotations

import queue
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from auditor.errors import Forbidden
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target, make_evidence
from probes.aws import (
    account,
    alarms,
    cicd,
    ecr,
    events,
    features,
    model_monitor,
    pipelines,
    registry,
    research,
    s3,
    serving,
    training,
)
from probes.aws.errors import classify
from probes.aws.scan import Env, Item, Scan, Stopped
from probes.aws.session import DEFAULT_REGION, client_config, make_client, open_session
from probes.aws.settings import AwsSettings

Hook = tuple[str, Callable[..., Any]]

#: what each region is asked, in order; the second item is what a crash there hides
REGIONAL: tuple[tuple[Callable[[Scan], None], tuple[str, ...]], ...] = (
    (research.collect, ("compute", "platform.shared")),
    (training.collect, ("distributed", "tool.tuning", "tempo")),
    (pipelines.collect, ("pipeline",)),
    (serving.collect, ("serving",)),
    (features.collect, ("feature_store",)),
    (registry.collect, ("registry", "governance", "docs.model_card")),
    (model_monitor.collect, ("monitoring.model_job", "fairness", "explainability")),
    (alarms.collect, ("monitoring", "remediation")),
    (events.collect, ("schedule", "remediation")),
    (cicd.collect, ("ci",)),
    (ecr.collect, ("image", "security.scanning")),
    (account.trails, ("audit",)),
)


def collect(target: Target, ctx: ProbeContext, all_signals: Sequence[str],
        hooks: Sequence[Hook] = ()) -> Iterator[Item]:
    settings: AwsSettings = target.settings or AwsSettings()
    endpoint = settings.endpoint_url

    def whole_target(what: str, exc: BaseException, action: str) -> Unobserved:
        failure = classify(exc, action, endpoint)
        return ctx.unobserved(target, what, failure.reason, all_signals)

    try:
        session = open_session(settings, ctx)
    except Exception as exc:
        if not settings.role_arn:
            yield whole_target("AWS credentials", exc, "credentials")
            return
        failure = classify(exc, "sts:AssumeRole", endpoint)
        reason = failure.reason
        if isinstance(failure, Forbidden):  # the caller's right, not the audited role's policy
            reason = (f"cannot assume {settings.role_arn}: sts:AssumeRole denied; check the "
                      "role's trust policy and the caller's permission to assume it")
        yield ctx.unobserved(target, "AWS credentials (assume role)", reason, all_signals)
        return
    session.events.register("before-call", _counter(ctx))
    for event, fn in hooks:
        session.events.register(event, fn)
    config = client_config(settings, ctx)
    requested = settings.regions if isinstance(settings.regions, list) else None
    home = (requested or [None])[0] or session.region_name or DEFAULT_REGION
    try:
        sts = make_client(session, "sts", home, settings, config)
        ident = sts.get_caller_identity()
        account_id = ident["Account"]
        partition = (ident.get("Arn") or "arn:aws").split(":")[1] or "aws"
    except Exception as exc:
        yield whole_target("AWS account", exc, "sts:GetCallerIdentity")
        return

    out: queue.Queue[Item] = queue.Queue()
    env = Env(settings=settings, target=target, ctx=ctx, session=session, config=config,
              account=account_id, partition=partition, emit=out.put, now=ctx.now)
    regions = _regions(Scan(env, home), settings, all_signals)
    if not regions:
        yield from _drain(out)
        return
    timings: dict[str, tuple[float, float]] = {}

    def regional(region: str) -> None:
        scan, start = Scan(env, region), time.monotonic()
        for fn, hidden in REGIONAL:
            _guarded(scan, fn, hidden)
        timings[region] = (start, time.monotonic())

    def account_wide() -> None:
        scan = Scan(env, home)
        _guarded(scan, lambda s: s3.collect(s, regions), s3.SIGNALS)
        budgets = Scan(env, "us-east-1" if partition == "aws" else home)
        _guarded(budgets, account.budgets, ("cost",))
        _guarded(budgets, account.cost_tags, ("cost",))

    with ThreadPoolExecutor(max_workers=settings.parallel_regions + 1,
                            thread_name_prefix="aws-region") as pool:
        futures = [pool.submit(regional, r) for r in regions] + [pool.submit(account_wide)]
        try:
            yield from _follow(out, futures, ctx)
        except BaseException:
            env.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _guarded(Scan(env, home), account.sagemaker_roles, ("security.access_control",))
    yield from _drain(out)
    yield from _aggregates(env, target, ctx)
    ctx.log.debug("aws regions timings: %s", timings)


def _guarded(scan: Scan, fn: Callable[[Scan], None], hidden: Sequence[str]) -> None:
    """Run one service module; a bug or surprise there hides only that module's signals."""
    try:
        fn(scan)
    except Stopped:
        return
    except Exception as exc:  # never let one module end the audit
        name = getattr(fn, "__module__", "aws").rsplit(".", 1)[-1]
        scan.unobserved(f"{name} in {scan.region}",
                        f"probe error: {type(exc).__name__}: {exc}", hidden)


def _follow(out: queue.Queue[Item], futures: list[Future], ctx: ProbeContext) -> Iterator[Item]:
    while True:
        done = all(f.done() for f in futures)
        try:
            yield out.get(timeout=0.05)
            while True:
                yield out.get_nowait()
        except queue.Empty:
            pass
        ctx.check()
        if done and out.empty():
            return


def _drain(out: queue.Queue[Item]) -> Iterator[Item]:
    while not out.empty():
        yield out.get_nowait()


def _regions(scan: Scan, settings: AwsSettings, all_signals: Sequence[str]) -> list[str]:
    """The regions to audit. Asked-for regions the account has not enabled are reported."""
    if settings.regions == "all-enabled":
        got = scan.call("ec2", "DescribeRegions", all_signals,
                        what="enabled regions (ec2:DescribeRegions)", AllRegions=False)
        if got is None:
            return []
        return sorted(r["RegionName"] for r in got.get("Regions") or [])
    wanted = list(settings.regions or [scan.region])
    got = scan.call("ec2", "DescribeRegions", (), what="which regions are enabled",
                    AllRegions=True)
    if got is None:  # cannot check: try them all, the calls themselves will tell
        return wanted
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required")
              for r in got.get("Regions") or []}
    usable = []
    for region in wanted:
        if status.get(region, "not-opted-in") == "not-opted-in":
            scan.unobserved(f"region {region}",
                            f"region {region} is not enabled for this account (or does not exist); "
                            "enable it or remove it from regions")
        else:
            usable.append(region)
    return usable


def _aggregates(env: Env, target: Target, ctx: ProbeContext) -> Iterator[Evidence]:
    acct, part, stats = env.account, env.partition, env.stats
    days = env.settings.recent_days

    def tempo(metric: str, value: float, unit: str, locator: str, **attrs: Any) -> Evidence:
        return make_evidence(signal=f"tempo.{metric}", strength=Strength.OPERATING, target=target.name,
                        locator=locator, attributes={"value": round(value, 2), "unit": unit,
                                                     "window_days": days, **attrs})

    if stats.get("training_regions"):
        yield tempo("training_runs_per_week", stats["training_jobs_recent"] * 7 / days, "per_week",
                    f"arn:{part}:sagemaker::{acct}:training-job/*", tool="sagemaker",
                    jobs=stats["training_jobs_recent"])
    if stats.get("registry_regions"):
        yield tempo("model_versions_per_month", stats["model_versions_recent"] * 30 / days,
                    "per_month", f"arn:{part}:sagemaker::{acct}:model-package/*",
                    tool="sagemaker", versions=stats["model_versions_recent"])
    ages = env.ages.get("production_model")
    if ages:
        yield make_evidence(signal="tempo.production_model_age_days", strength=Strength.OPERATING,
                       target=target.name, locator=f"arn:{part}:sagemaker::{acct}:endpoint/*",
                       attributes={"value": round(statistics.median(ages), 1), "unit": "days",
                                   "endpoints": len(ages), "tool": "sagemaker"})
    # where resources are; whether that is allowed is compliance's to judge (policy)
    for region, (count, locator) in sorted(env.regions_used.items()):
        if count:
            yield make_evidence(signal="residency.region", strength=Strength.CONFIGURED,
                           target=target.name, locator=locator,
                           attributes={"region": region, "resources": count})


def _counter(ctx: ProbeContext) -> Callable[..., None]:
    """Every API call, counted on the probe context as ``(HTTP method, service:Operation)``."""

    def count(model: Any, **_: Any) -> None:
        ctx.requests.add(str(model.http.get("method", "POST")),
                         f"{model.service_model.service_name}:{model.name}")

    return count
