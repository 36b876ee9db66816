"""Alertmanager: version, receivers, the routing tree, and webhooks that start pipelines
(alert-driven remediation)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.http import Credentials, Transport, host_of, split_userinfo
from auditor.rules import starts_remediation
from probes.prometheus.alertmanager import (
    AlertmanagerConfig,
    parse_config,
    receivers_for,
    routed_receivers,
)
from probes.prometheus.classify import summarise
from probes.prometheus.client import ApiClient, ApiError
from probes.prometheus.scope import ROUTING_SIGNALS, Scope, quote

#: an Alertmanager URL found through Prometheus (not configured) gets a short timeout
DERIVED_TIMEOUT = 5.0
MAX_RECEIVERS = 50


@dataclass
class Alertmanager:
    host: str
    version: str | None
    config: AlertmanagerConfig
    cluster: str = ""
    fired_routes: dict[str, set[str]] = field(default_factory=dict)  # receiver → alertnames


def alertmanager_base(url: str) -> str:
    """``http://am:9093/api/v2/alerts`` (as Prometheus lists it) → ``http://am:9093``."""
    parts = urllib.parse.urlsplit(url)
    path = re.sub(r"/api/v[12]/alerts/?$", "", parts.path)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def fetch_alertmanager(scope: Scope,
                       discovered: list[str]) -> Generator[Unobserved, None, Alertmanager | None]:
    """Yields Unobserved on failure; returns the parsed Alertmanager, or None."""
    settings = scope.settings
    derived = settings.alertmanager_url is None
    url = settings.alertmanager_url or (alertmanager_base(discovered[0]) if discovered else None)
    if url is None:
        return None
    url, in_url = split_userinfo(url)
    creds: Credentials | None = None
    if derived:
        hint = "set alertmanager_url and alertmanager_*_env"
    else:
        hint = "set alertmanager_token_env or alertmanager_username_env/alertmanager_password_env"
        creds, _notes = Credentials.from_env(settings.alertmanager_token_env,
                                             settings.alertmanager_username_env,
                                             settings.alertmanager_password_env)
        creds = creds or in_url
    transport = Transport.for_settings(scope.ctx, settings)
    if derived:
        transport.timeout = DERIVED_TIMEOUT
    client = ApiClient(url, creds, hint, transport)
    what = f"Alertmanager at {host_of(url)}" + (" (found through Prometheus; set "
                                                "alertmanager_url to choose)" if derived else "")
    try:
        status = client.get_json("/api/v2/status")
    except ApiError as exc:
        yield scope.unobserved(what, exc.reason, ROUTING_SIGNALS)
        return None
    config = status.get("config") if isinstance(status, Mapping) else None
    if not isinstance(config, Mapping) or "original" not in config:
        yield scope.unobserved(what, "/api/v2/status answered without config.original: not an "
                                     "Alertmanager API", ROUTING_SIGNALS)
        return None
    try:
        parsed = parse_config(str(config.get("original") or ""))
    except ValueError as exc:
        yield scope.unobserved(what, str(exc), ROUTING_SIGNALS)
        return None
    version_info = status.get("versionInfo") or {}
    cluster = (status.get("cluster") or {}).get("status", "") if isinstance(status.get("cluster"), Mapping) else ""
    return Alertmanager(host_of(url), str(version_info.get("version") or "") or None, parsed,
                       str(cluster or ""))


def route_fired(am: Alertmanager, fired: list[dict[str, str]], extra: Mapping[str, str]) -> None:
    """Which receivers the recently fired alerts reached (by replaying the routing tree)."""
    if am.config.root is None:
        return
    for labels in fired:
        for receiver in receivers_for(am.config.root, {**extra, **labels}):
            am.fired_routes.setdefault(receiver, set()).add(labels.get("alertname", ""))


def routing_evidence(scope: Scope, am: Alertmanager) -> Iterator[Evidence | Unobserved]:
    routed = routed_receivers(am.config.root)
    base = f"alertmanager://{am.host}"
    yield scope.evidence(
        "monitoring.alert_routing", Strength.OPERATING, base,
        {"tool": "alertmanager", "version": am.version or "unknown",
         "receivers": len(am.config.receivers), "routed_receivers": len(routed),
         "cluster": am.cluster or "disabled"},
        f"Alertmanager {am.version or ''} with {len(am.config.receivers)} receivers",
    )
    for index, (name, receiver) in enumerate(sorted(am.config.receivers.items())):
        scope.ctx.check()
        fired = sorted(am.fired_routes.get(name, set()))
        locator = f"{base}/receivers/{quote(name)}"
        is_routed = name in routed
        strength = (Strength.OPERATING if fired else
                    Strength.CONFIGURED if is_routed else Strength.DECLARED)
        if index < MAX_RECEIVERS:
            yield scope.evidence(
                "monitoring.alert_routing", strength, locator,
                {"receiver": name, "integrations": list(receiver.integrations),
                 "routed": is_routed, "fired_recently": summarise(fired)},
                f"receiver {name}: {', '.join(receiver.integrations) or 'no integrations'}",
            )
        yield from _remediation(scope, name, receiver.webhooks, locator, strength, is_routed, fired)


def _remediation(scope: Scope, name: str, webhooks: list[Any], locator: str, strength: Strength,
                 is_routed: bool, fired: list[str]) -> Iterator[Evidence | Unobserved]:
    for position, hook in enumerate(webhooks, start=1):
        where = locator + (f"#webhook{position}" if len(webhooks) > 1 else "")
        common = {"receiver": name, "routed": is_routed, "fired_recently": summarise(fired)}
        if hook.trigger is not None:
            yield scope.evidence(
                "remediation.trigger", strength, where,
                {**common, "system": hook.trigger.system, "action": hook.trigger.action,
                 "url": hook.shown_url},
                f"receiver {name} triggers {hook.trigger.system} ({hook.trigger.action}): "
                f"{hook.shown_url}",
            )
        elif hook.hidden and starts_remediation(name):
            yield scope.evidence(
                "remediation.trigger", Strength.DECLARED, where,
                {**common, "system": "unknown", "basis": "receiver name; the URL is hidden"},
                f"receiver {name} (webhook URL hidden by Alertmanager)",
            )
        elif hook.hidden:
            yield scope.unobserved(
                f"webhook URL of receiver {name}",
                "Alertmanager hides the URL (<secret> or url_file); cannot tell whether it "
                "starts a pipeline", ("remediation.trigger",))
