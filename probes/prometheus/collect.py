"""The order of work for one Prometheus target: is this Prometheus, then rules, scrape
targets, attached Alertmanagers, recently fired alerts, metrics and routing — each area
reported as not observed on its own when it cannot be read."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import Any

from auditor.errors import NotFound, NotThisApi
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.http import Credentials, Transport, host_of, split_userinfo
from auditor.probe import ProbeContext, Target
from probes.prometheus.alertmanager import route_label_names
from probes.prometheus.alerts import external_labels, recent_alerts
from probes.prometheus.classify import summarise
from probes.prometheus.client import ApiClient, ApiError
from probes.prometheus.metrics import metric_evidence
from probes.prometheus.routing import (
    Alertmanager,
    fetch_alertmanager,
    route_fired,
    routing_evidence,
)
from probes.prometheus.rules import RuleSet, fetch_rules, rule_evidence
from probes.prometheus.scope import RULE_SIGNALS, Scope
from probes.prometheus.settings import PrometheusSettings
from probes.prometheus.signals import ALL_SIGNALS
from probes.prometheus.webhooks import safe_url


def collect(target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
    """One Prometheus (and its Alertmanager): the order of work."""
    settings: PrometheusSettings = target.settings
    url, in_url = split_userinfo(settings.url)
    creds, _notes = Credentials.from_env(settings.token_env, settings.username_env,
                                         settings.password_env)
    client = ApiClient(url, creds or in_url, "set token_env or username_env/password_env",
                       Transport.for_settings(ctx, settings))
    scope = Scope(target, ctx, settings, client, host_of(url))
    yield from _walk(scope)


def _walk(scope: Scope) -> Iterator[Evidence | Unobserved]:
    what = f"Prometheus API at {scope.host}"
    # 1. Is this Prometheus, can we get in? Every later call depends on it.
    version: str | None = None
    try:
        info = scope.client.prom("/api/v1/status/buildinfo")
        version = str(info.get("version")) if isinstance(info, Mapping) and info.get("version") else None
        if version is None:
            raise NotThisApi("/api/v1/status/buildinfo answered without a version: "
                             "not a Prometheus API")
    except ApiError as exc:
        if exc.kind != NotFound.kind:  # old Prometheus and some Prometheus-compatible servers
            yield scope.unobserved(what, exc.reason, ALL_SIGNALS)
            return
    scope.ctx.check()
    # 2. Rules decide whether the API is real when build info was missing.
    rules: RuleSet | None = None
    try:
        rules = yield from fetch_rules(scope)
    except ApiError as exc:
        if version is None:  # neither build info nor rules: nothing here speaks Prometheus
            reason = exc.reason if exc.fatal else \
                f"not a Prometheus API: build info and rules unreadable ({exc.reason})"
            yield scope.unobserved(what, reason, ALL_SIGNALS)
            return
        yield scope.unobserved("rules", exc.reason, RULE_SIGNALS)
    scope.ctx.check()
    targets = yield from _targets(scope)
    attached = yield from _alertmanagers(scope)
    scope.ctx.check()
    am: Alertmanager | None = yield from fetch_alertmanager(scope, attached)
    scope.ctx.check()
    route_labels = route_label_names(am.config.root) if am is not None else set()
    fired = yield from recent_alerts(scope, route_labels)
    fired_names = {labels.get("alertname", "") for labels in fired}
    # 3. Evidence.
    yield _tool_evidence(scope, version, targets, rules, len(fired_names))
    if rules is not None:
        yield from rule_evidence(scope, rules, fired_names)
    if attached:
        yield scope.evidence(
            "monitoring.alert_routing", Strength.CONFIGURED, scope.locator("alertmanagers"),
            {"alertmanagers": len(attached), "urls": summarise(safe_url(u) for u in attached)},
            f"Prometheus sends alerts to {len(attached)} Alertmanager(s)",
        )
    scope.ctx.check()
    yield from metric_evidence(scope)
    if am is not None:
        if fired:
            route_fired(am, fired, external_labels(scope))
        yield from routing_evidence(scope, am)


def _targets(scope: Scope) -> Generator[Unobserved, None, dict[str, Any] | None]:
    """Scrape-target health summary, or None when unreadable."""
    try:
        data = scope.client.prom("/api/v1/targets", [("state", "active")])
    except ApiError as exc:
        yield scope.unobserved("scrape targets", exc.reason, ())
        return None
    active = data.get("activeTargets") if isinstance(data, Mapping) else None
    if not isinstance(active, list):
        yield scope.unobserved("scrape targets", "/api/v1/targets answered without "
                                                 "activeTargets", ())
        return None
    jobs: set[str] = set()
    down_jobs: set[str] = set()
    up = 0
    for item in active:
        if not isinstance(item, Mapping):
            continue
        job = str((item.get("labels") or {}).get("job") or item.get("scrapePool") or "")
        jobs.add(job)
        if item.get("health") == "up":
            up += 1
        else:
            down_jobs.add(job)
    return {"targets": len(active), "targets_up": up, "targets_down": len(active) - up,
            "jobs": summarise(jobs), "job_count": len(jobs), "down_jobs": summarise(down_jobs)}


def _alertmanagers(scope: Scope) -> Generator[Unobserved, None, list[str]]:
    """URLs of the Alertmanagers Prometheus sends to."""
    try:
        data = scope.client.prom("/api/v1/alertmanagers")
    except ApiError as exc:
        yield scope.unobserved("attached Alertmanagers", exc.reason, ("monitoring.alert_routing",))
        return []
    active = data.get("activeAlertmanagers") if isinstance(data, Mapping) else None
    return sorted(str(a.get("url")) for a in active or [] if isinstance(a, Mapping) and a.get("url"))


def _tool_evidence(scope: Scope, version: str | None, targets: dict[str, Any] | None,
                   rules: RuleSet | None, fired: int) -> Evidence:
    attributes: dict[str, Any] = {"tool": "prometheus", "version": version or "unknown"}
    if targets:
        attributes.update(targets)
    if rules is not None:
        attributes.update({"rule_groups": len(rules.groups), "rules_seen": rules.seen,
                           "rules_skipped": rules.skipped})
    attributes["alerts_fired_recently"] = fired
    up = f", {targets['targets_up']} of {targets['targets']} scrape targets up" if targets else ""
    return scope.evidence("tool.monitoring", Strength.OPERATING, scope.locator(), attributes,
                          f"Prometheus {version or '(version unknown)'}{up}")
