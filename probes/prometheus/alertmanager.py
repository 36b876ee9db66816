"""Alertmanager's configuration (as ``/api/v2/status`` returns it): receivers, the routing
tree, and which receiver an alert with given labels reaches."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.yamlload import load_user
from probes.prometheus.webhooks import Trigger, detect, safe_url

#: Alertmanager prints secret fields as this
HIDDEN = "<secret>"
_MATCHER = re.compile(
    r'^\s*\{?\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*|"[^"]*")\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*\}?\s*$'
)


@dataclass(frozen=True)
class Webhook:
    shown_url: str  # safe to print
    trigger: Trigger | None
    hidden: bool  # Alertmanager masked the URL (or it comes from url_file)


@dataclass
class Receiver:
    name: str
    integrations: tuple[str, ...]
    webhooks: list[Webhook] = field(default_factory=list)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op in ("=", "!="):
            return (actual == self.value) == (self.op == "=")
        try:
            found = re.fullmatch(self.value, actual) is not None
        except re.error:
            return False
        return found == (self.op == "=~")


@dataclass
class Route:
    receiver: str
    matchers: list[Matcher]
    cont: bool = False
    routes: list[Route] = field(default_factory=list)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass
class AlertmanagerConfig:
    receivers: dict[str, Receiver]
    root: Route | None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_matcher(text: str) -> Matcher | None:
    found = _MATCHER.match(text)
    if not found:
        return None
    return Matcher(_unquote(found["name"]), found["op"], _unquote(found["value"]))


def _route(raw: Mapping[str, Any], parent_receiver: str) -> Route:
    receiver = str(raw.get("receiver") or parent_receiver)
    matchers: list[Matcher] = []
    for name, value in (raw.get("match") or {}).items():
        matchers.append(Matcher(str(name), "=", str(value)))
    for name, value in (raw.get("match_re") or {}).items():
        matchers.append(Matcher(str(name), "=~", str(value)))
    for text in raw.get("matchers") or []:
        parsed = parse_matcher(str(text))
        if parsed is not None:
            matchers.append(parsed)
    children = [_route(child, receiver) for child in raw.get("routes") or []
                if isinstance(child, Mapping)]
    return Route(receiver, matchers, bool(raw.get("continue")), children)


def _receiver(raw: Mapping[str, Any]) -> Receiver:
    name = str(raw.get("name", ""))
    integrations = tuple(sorted(key.removesuffix("_configs") for key, value in raw.items()
                                if key.endswith("_configs") and value))
    webhooks: list[Webhook] = []
    for hook in raw.get("webhook_configs") or []:
        if not isinstance(hook, Mapping):
            continue
        url = str(hook.get("url") or "")
        if not url or url == HIDDEN or hook.get("url_file"):
            webhooks.append(Webhook(HIDDEN, None, True))
            continue
        webhooks.append(Webhook(safe_url(url), detect(url), False))
    return Receiver(name, integrations, webhooks)


def parse_config(text: str) -> AlertmanagerConfig:
    """Raises ValueError when the text is not an Alertmanager configuration."""
    try:
        data = load_user(text) if text else None  # refused when absurdly deep
    except (yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"configuration is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise ValueError("configuration is empty or not a mapping")
    receivers = {}
    for raw in data.get("receivers") or []:
        if isinstance(raw, Mapping):
            receiver = _receiver(raw)
            receivers[receiver.name] = receiver
    route = data.get("route")
    root = _route(route, "") if isinstance(route, Mapping) else None
    if root is not None:
        root.matchers = []  # the root route matches every alert
    return AlertmanagerConfig(receivers, root)


def receivers_for(root: Route, labels: Mapping[str, str]) -> list[str]:
    """The receivers Alertmanager would notify for an alert with these labels."""

    def walk(node: Route) -> list[str]:
        found: list[str] = []
        for child in node.routes:
            if child.matches(labels):
                found.extend(walk(child))
                if not child.cont:
                    break
        return found or [node.receiver]

    return sorted(set(walk(root)))


def routed_receivers(root: Route | None) -> set[str]:
    """Receivers some route can reach."""
    if root is None:
        return set()
    found = {root.receiver}
    for child in root.routes:
        found |= routed_receivers(child)
    return found


def route_label_names(root: Route | None) -> set[str]:
    """Label names the routing tree looks at (what a recently-fired query must keep)."""
    if root is None:
        return set()
    names = {m.name for m in root.matchers}
    for child in root.routes:
        names |= route_label_names(child)
    return names
