"""Rule groups (alerting and recording), bounded by ``max_rules``, classified as model
monitoring or operational."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import NotThisApi
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.limits import EndlessListing, PageGuard
from probes.prometheus.classify import classify_rule, summarise
from probes.prometheus.scope import RULE_SIGNALS, Scope

#: groups asked for per page on servers that paginate /api/v1/rules (others send all)
GROUP_PAGE = 200
#: per-rule evidence for model rules beyond this is counted, not listed
MAX_MODEL_RULE_EVIDENCE = 200
_NEVER = "0001-01-01"


@dataclass
class RuleSet:
    groups: list[dict[str, Any]] = field(default_factory=list)  # groups, trimmed to max_rules
    seen: int = 0  # rules looked at
    skipped: int = 0  # rules loaded but not looked at
    more_pages: bool = False  # stopped paginating: the real total is higher
    pages: int = 0


def fetch_rules(scope: Scope) -> Generator[Unobserved, None, RuleSet]:
    """Yields Unobserved for problems and returns the RuleSet (``rules = yield from ...``).
    Raises a ProbeError when the endpoint is unreadable (the caller decides)."""
    limit = scope.settings.max_rules
    result = RuleSet()
    token = ""
    guard = PageGuard("/api/v1/rules")
    while True:
        scope.ctx.check()
        params = [("exclude_alerts", "true"), ("group_limit", str(GROUP_PAGE))]
        if token:
            params.append(("group_next_token", token))
        data = scope.client.prom("/api/v1/rules", params)
        result.pages += 1
        if not isinstance(data, Mapping) or not isinstance(data.get("groups"), list):
            raise NotThisApi("/api/v1/rules answered without a groups list: not a "
                             "Prometheus rules API")
        for group in data["groups"]:
            if not isinstance(group, Mapping):
                continue
            rules = [r for r in group.get("rules") or [] if isinstance(r, Mapping)]
            room = limit - result.seen
            if room <= 0:
                result.skipped += len(rules)
                continue
            kept = rules[:room]
            result.seen += len(kept)
            result.skipped += len(rules) - len(kept)
            result.groups.append({**group, "rules": kept})
        token = str(data.get("groupNextToken") or "")
        if not token:
            break
        if result.seen >= limit:
            result.more_pages = True
            break
        try:
            guard.next(token)
        except EndlessListing as exc:  # what was read is used; the rest is unknown
            yield scope.unobserved("rules", str(exc), RULE_SIGNALS)
            break
    if result.skipped or result.more_pages:
        total = f"at least {result.seen + result.skipped}" if result.more_pages else \
            str(result.seen + result.skipped)
        skipped = f"at least {result.skipped}" if result.more_pages else str(result.skipped)
        yield scope.unobserved(
            "rules beyond max_rules",
            f"{total} rules loaded; looked at the first {result.seen} (max_rules={limit}), "
            f"{skipped} skipped",
            RULE_SIGNALS,
        )
    return result


def _evaluated(rule: Mapping[str, Any]) -> bool:
    last = str(rule.get("lastEvaluation") or "")
    return rule.get("health") == "ok" and bool(last) and not last.startswith(_NEVER)


def _strength(rule: Mapping[str, Any]) -> Strength:
    if rule.get("state") == "firing" or _evaluated(rule):
        return Strength.OPERATING
    return Strength.CONFIGURED


def _excerpt(rule: Mapping[str, Any]) -> str:
    kind = "alert" if rule.get("type") == "alerting" else "record"
    return f"{kind}: {rule.get('name', '')}  expr: {' '.join(str(rule.get('query', '')).split())}"


def rule_evidence(scope: Scope, rules: RuleSet, fired: set[str]) -> Iterator[Evidence | Unobserved]:
    """Per-rule evidence for model rules; one summary per group for operational rules."""
    model_count = 0
    for group in rules.groups:
        scope.ctx.check()
        group_name = str(group.get("name", ""))
        seen_names: Counter[str] = Counter()
        operational: list[Mapping[str, Any]] = []
        categories: Counter[str] = Counter()
        for rule in group["rules"]:
            name = str(rule.get("name", ""))
            seen_names[name] += 1
            found = classify_rule(name, str(rule.get("query", "")), rule.get("labels") or {},
                                  rule.get("annotations") or {})
            if found.family == "operational":
                operational.append(rule)
                categories.update(found.categories)
                continue
            if not found.is_model:
                continue
            model_count += 1
            if model_count > MAX_MODEL_RULE_EVIDENCE:
                continue
            locator = scope.locator("rules", group_name, name)
            if seen_names[name] > 1:
                locator += f"#{seen_names[name]}"
            attributes: dict[str, Any] = {
                "rule": name, "group": group_name, "type": rule.get("type", ""),
                "categories": list(found.categories), "health": rule.get("health", "unknown"),
            }
            if rule.get("type") == "alerting":
                attributes["state"] = rule.get("state", "")
                attributes["fired_recently"] = name in fired
            if rule.get("health") == "err" and rule.get("lastError"):
                attributes["last_error"] = str(rule["lastError"])[:200]
            strength = _strength(rule)
            yield scope.evidence("monitoring.model_rule", strength, locator, attributes,
                                 _excerpt(rule))
            if "data_quality" in found.categories:
                yield scope.evidence("data_validation.check", strength, locator,
                                     {**attributes, "check": "prometheus_rule"}, _excerpt(rule))
        if operational:
            yield _operational_summary(scope, group_name, operational, categories, fired)
    if model_count > MAX_MODEL_RULE_EVIDENCE:
        yield scope.unobserved(
            "model-monitoring rules beyond the evidence cap",
            f"{model_count} model-monitoring rules; evidence lists the first "
            f"{MAX_MODEL_RULE_EVIDENCE}", ())


def _operational_summary(scope: Scope, group_name: str, rules: list[Mapping[str, Any]],
                         categories: Counter[str], fired: set[str]) -> Evidence:
    names = [str(r.get("name", "")) for r in rules]
    healthy = sum(1 for r in rules if _evaluated(r))
    firing = sorted({str(r.get("name")) for r in rules if r.get("state") == "firing"})
    strength = Strength.OPERATING if healthy or firing else Strength.CONFIGURED
    return scope.evidence(
        "monitoring.operational_rule", strength, scope.locator("rules", group_name),
        {
            "group": group_name, "rules": len(rules),
            "alerting": sum(1 for r in rules if r.get("type") == "alerting"),
            "recording": sum(1 for r in rules if r.get("type") == "recording"),
            "healthy": healthy, "categories": dict(sorted(categories.items())),
            "names": summarise(names), "firing": firing[:20],
            "fired_recently": summarise(n for n in names if n in fired),
        },
        f"group {group_name}: {len(rules)} operational rules",
    )
