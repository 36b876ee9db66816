"""Prometheus/Alertmanager probe against real Debian binaries (tests/servers/prometheus.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.config import ConfigError, build_target
from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext
from probes.prometheus import PrometheusProbe
from tests.servers.prometheus import (
    BULK_RULES,
    GITLAB_TRIGGER_TOKEN,
    PROM_PASSWORD,
    PROM_USER,
    SLACK_SECRET,
)

ENV = {"MLA_PROM_USER": PROM_USER, "MLA_PROM_PASSWORD": PROM_PASSWORD}


def collect(raw: dict, tmp_path: Path, timeout: float = 60.0) -> tuple[list[Evidence], list[Unobserved], ProbeContext]:
    target = build_target({"name": "prom", "kind": "prometheus", **raw})
    ctx = ProbeContext(probe="prometheus", cache_dir=tmp_path, timeout=timeout)
    out = list(PrometheusProbe().collect(target, ctx))
    return ([o for o in out if isinstance(o, Evidence)],
            [o for o in out if isinstance(o, Unobserved)], ctx)


def dump(*items: list) -> str:
    return json.dumps([o.to_dict() for group in items for o in group])


def authed(stack, **extra) -> dict:
    return {"url": stack.url, "username_env": "MLA_PROM_USER", "password_env": "MLA_PROM_PASSWORD",
            **extra}


@pytest.fixture(scope="module")
def full(prometheus_stack, tmp_path_factory):
    """One full collection with Alertmanager configured, shared by the tests that read it."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        evidence, unobserved, ctx = collect(
            authed(prometheus_stack, alertmanager_url=prometheus_stack.alertmanager_url),
            tmp_path_factory.mktemp("prom"))
    return evidence, unobserved, ctx


def by_signal(evidence: list[Evidence], signal: str) -> list[Evidence]:
    return [e for e in evidence if e.signal == signal]


def test_version_and_scrape_target_health(full, prometheus_stack):
    evidence, unobserved, _ = full
    [tool] = by_signal(evidence, "tool.monitoring")
    assert tool.attributes["tool"] == "prometheus"
    assert tool.attributes["version"].startswith("2.")
    assert tool.strength is Strength.OPERATING
    assert (tool.attributes["targets"], tool.attributes["targets_up"],
            tool.attributes["targets_down"]) == (2, 1, 1)
    assert tool.attributes["rules_seen"] == BULK_RULES + 9
    assert tool.locator == f"prometheus://{prometheus_stack.url.removeprefix('http://')}"
    assert unobserved == []


def test_model_monitoring_rules_are_classified_and_located(full, prometheus_stack):
    evidence, _, _ = full
    rules = {e.attributes["rule"]: e for e in by_signal(evidence, "monitoring.model_rule")}
    assert set(rules) == {"ChurnModelFeatureDrift", "ModelAccuracyLow",
                          "PredictionDistributionShift", "model:feature_drift_psi:max",
                          "FeatureNullRateHigh"}
    drift = rules["ChurnModelFeatureDrift"]
    assert drift.attributes["categories"] == ["drift"]
    assert drift.attributes["state"] == "firing" and drift.attributes["fired_recently"] is True
    assert drift.strength is Strength.OPERATING
    host = prometheus_stack.url.removeprefix("http://")
    assert drift.locator == f"prometheus://{host}/rules/model-quality/ChurnModelFeatureDrift"
    assert "(model_feature_drift_psi[10m])) > 0.2" in drift.excerpt
    assert rules["ModelAccuracyLow"].attributes["categories"] == ["accuracy"]
    assert rules["PredictionDistributionShift"].attributes["categories"] == ["prediction_distribution"]
    assert rules["model:feature_drift_psi:max"].attributes["type"] == "recording"
    # the 1500 bulk rules are neither model nor operational: no evidence per rule
    assert len(evidence) < 40


def test_data_quality_rule_counts_as_data_validation(full):
    evidence, _, _ = full
    [check] = by_signal(evidence, "data_validation.check")
    assert check.attributes["rule"] == "FeatureNullRateHigh"
    assert check.strength >= Strength.CONFIGURED


def test_operational_rules_are_summarised_per_group(full):
    evidence, _, _ = full
    [group] = by_signal(evidence, "monitoring.operational_rule")
    assert group.locator.endswith("/rules/serving-slo")
    assert group.attributes["rules"] == 4
    assert {"latency", "errors"} <= set(group.attributes["categories"])
    assert "ChurnModelFeatureDrift" not in group.attributes["names"]


def test_serving_metrics_show_which_models_are_served(full):
    evidence, unobserved, _ = full
    serving = {e.attributes["framework"]: e for e in by_signal(evidence, "serving.deployment")}
    assert set(serving) == {"triton", "kserve", "seldon"}, unobserved
    assert serving["triton"].attributes["models"] == ["churn-classifier"]
    assert serving["triton"].attributes["links_to"] == ["model:churn-classifier"]
    assert serving["kserve"].attributes["models"] == ["fraud-detector"]
    assert all(e.strength is Strength.OPERATING for e in serving.values())


def test_drift_and_quality_exporters_are_model_metrics(full):
    evidence, unobserved, _ = full
    metrics = {e.attributes["category"]: e for e in by_signal(evidence, "monitoring.model_metric")}
    assert "drift" in metrics, unobserved
    assert "model_feature_drift_psi" in metrics["drift"].attributes["metrics"]
    assert metrics["accuracy"].attributes["metrics"] == ["model_accuracy"]
    assert "feature_null_rate" in metrics["data_quality"].attributes["metrics"]
    # serving metrics are not double-counted as model metrics
    assert not any("nv_inference" in m for e in metrics.values() for m in e.attributes["metrics"])


def test_alert_routing_receivers_and_attached_alertmanagers(full, prometheus_stack):
    evidence, _, _ = full
    routing = {e.locator: e for e in by_signal(evidence, "monitoring.alert_routing")}
    am_host = prometheus_stack.alertmanager_url.removeprefix("http://")
    assert routing[f"alertmanager://{am_host}"].attributes["tool"] == "alertmanager"
    assert routing[f"alertmanager://{am_host}"].attributes["version"].startswith("0.")
    prom_side = [e for e in routing.values() if e.locator.endswith("/alertmanagers")]
    assert prom_side and prom_side[0].attributes["alertmanagers"] == 1
    oncall = routing[f"alertmanager://{am_host}/receivers/oncall"]
    assert oncall.attributes["integrations"] == ["slack"]
    unrouted = routing[f"alertmanager://{am_host}/receivers/github-dispatch"]
    assert unrouted.attributes["routed"] is False and unrouted.strength is Strength.DECLARED


def test_pipeline_webhooks_are_alert_driven_remediation(full):
    evidence, _, _ = full
    triggers = {e.attributes["receiver"]: e for e in by_signal(evidence, "remediation.trigger")}
    assert set(triggers) == {"retrain-argo", "gitlab-retrain", "github-dispatch"}
    # the drift alert fired and routes to the Argo receiver: operating
    argo = triggers["retrain-argo"]
    assert argo.strength is Strength.OPERATING
    assert argo.attributes["system"] == "argo-workflows"
    assert argo.attributes["fired_recently"] == ["ChurnModelFeatureDrift"]
    # routed but nothing fired that reaches it: configured
    gitlab = triggers["gitlab-retrain"]
    assert gitlab.strength is Strength.CONFIGURED
    assert gitlab.attributes["system"] == "gitlab"
    # defined, but no route leads there: only declared
    assert triggers["github-dispatch"].strength is Strength.DECLARED
    assert triggers["github-dispatch"].attributes["action"] == "repository_dispatch"


def test_no_credential_or_webhook_token_in_any_output(full):
    evidence, unobserved, _ = full
    text = dump(evidence, unobserved)
    for secret in (PROM_PASSWORD, GITLAB_TRIGGER_TOKEN, SLACK_SECRET):
        assert secret not in text


def test_bounded_request_count(full):
    _, _, ctx = full
    # build info, rules, targets, alertmanagers, AM status, ALERTS, metric names,
    # one served-models query per framework (3), external labels
    assert ctx.requests.count == 11


def test_alertmanager_found_through_prometheus(prometheus_stack, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    evidence, unobserved, _ = collect(authed(prometheus_stack), tmp_path)
    assert unobserved == []
    assert by_signal(evidence, "remediation.trigger")


def test_huge_rule_set_is_bounded_by_max_rules(prometheus_stack, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    evidence, unobserved, ctx = collect(authed(prometheus_stack, max_rules=100), tmp_path)
    [skipped] = [u for u in unobserved if u.what == "rules beyond max_rules"]
    total = BULK_RULES + 9
    assert skipped.reason == (f"{total} rules loaded; looked at the first 100 (max_rules=100), "
                              f"{total - 100} skipped")
    assert "monitoring.model_rule" in skipped.signals
    [tool] = by_signal(evidence, "tool.monitoring")
    assert (tool.attributes["rules_seen"], tool.attributes["rules_skipped"]) == (100, total - 100)
    assert ctx.requests.count <= 11  # bounded: no per-rule calls


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({"name": "p", "kind": "prometheus", "url": "http://x", "token": "abc"})
    with pytest.raises(ConfigError, match="alerts_lookback"):
        build_target({"name": "p", "kind": "prometheus", "url": "http://x",
                      "alerts_lookback": "a week"})
