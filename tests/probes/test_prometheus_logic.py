"""The judgement calls of the Prometheus probe, each with the input a user would have:
which rules are model monitoring, which webhooks start pipelines, where alerts are routed."""

from __future__ import annotations

import pytest

from auditor.redact import redact
from probes.prometheus.alertmanager import parse_config, receivers_for, routed_receivers
from probes.prometheus.classify import classify_metric, classify_rule
from probes.prometheus.serving import framework_of
from probes.prometheus.webhooks import detect, safe_url


@pytest.mark.parametrize(("name", "expr", "labels", "family", "category"), [
    ("FeatureDriftHigh", "max(feature_psi) > 0.2", {}, "model", "drift"),
    ("ChurnKSStatistic", "evidently_ks_stat > 0.1", {}, "model", "drift"),
    ("ModelAUCDrop", "model_roc_auc < 0.7", {}, "model", "accuracy"),
    ("RMSERegression", "model_rmse > 4", {}, "model", "accuracy"),
    ("NullRateHigh", "feature_null_rate > 0.05", {}, "model", "data_quality"),
    ("SchemaViolations", "increase(schema_violations_total[1h]) > 0", {}, "model", "data_quality"),
    ("PredictionMeanShift", "abs(prediction_mean - 0.5) > 0.2", {}, "model", "prediction_distribution"),
    ("Anything", "foo > 1", {"category": "data-drift"}, "model", "drift"),
    ("HighP99Latency", "histogram_quantile(0.99, rate(x_bucket[5m])) > 1", {}, "operational", "latency"),
    ("InferenceErrors", "rate(http_requests_total{code=~'5..'}[5m]) > 1", {}, "operational", "errors"),
    ("GPUMemoryHigh", "DCGM_FI_DEV_FB_USED > 0.9", {}, "operational", "saturation"),
    ("NodePSIPressure", "node_pressure_cpu_waiting_seconds_total > 1", {}, "operational", "saturation"),
    ("bulk:series_1:value", "vector(1)", {}, "other", None),
])
def test_rule_classification(name, expr, labels, family, category):
    found = classify_rule(name, expr, labels)
    assert found.family == family
    if category:
        assert category in found.categories


def test_clock_skew_is_not_training_serving_skew():
    assert classify_rule("ClockSkewDetected", "node_timex_offset_seconds > 0.05").family != "model"


def test_summary_only_breaks_ties():
    found = classify_rule("Job42", "foo > 1", {}, {"summary": "Model accuracy below target"})
    assert found.is_model and found.categories == ("accuracy",)


@pytest.mark.parametrize(("metric", "framework"), [
    ("nv_inference_request_success", "triton"), ("ts_inference_requests_total", "torchserve"),
    ("bentoml_service_request_total", "bentoml"), ("ray_serve_num_http_requests", "ray-serve"),
    ("seldon_model_infer_total", "seldon"), ("request_predict_seconds_bucket", "kserve"),
    ("http_requests_total", None),
])
def test_serving_metric_names(metric, framework):
    assert framework_of(metric) == framework


def test_drift_exporter_metric():
    assert classify_metric("evidently_data_drift_share").categories == ("drift",)


@pytest.mark.parametrize(("url", "system", "action"), [
    ("https://api.github.com/repos/acme/churn/dispatches", "github", "repository_dispatch"),
    ("https://ghe.acme.io/api/v3/repos/ml/churn/actions/workflows/retrain.yml/dispatches",
     "github", "workflow_dispatch"),
    ("https://gitlab.com/api/v4/projects/42/trigger/pipeline?token=abc&ref=main", "gitlab",
     "pipeline_trigger"),
    ("https://ci.acme.io/job/ml/job/retrain/buildWithParameters?token=x", "jenkins", "build"),
    ("http://retrain-eventsource-svc.argo-events.svc:12000/retrain", "argo-events", "webhook"),
    ("https://argo.acme.io/api/v1/events/ml/retrain", "argo-workflows", "event"),
    ("http://el-retrain-listener.tekton.svc:8080", "tekton", "event_listener"),
    ("https://abc123.lambda-url.eu-west-1.on.aws/", "aws-lambda", "invoke"),
    ("https://x1.execute-api.us-east-1.amazonaws.com/prod/start-pipeline", "aws-api-gateway", "pipeline"),
    ("https://airflow.acme.io/api/v1/dags/retrain_churn/dagRuns", "airflow", "dag_run"),
    ("https://hooks.acme.io/ml/rollback", "generic", "webhook"),
])
def test_pipeline_triggers(url, system, action):
    trigger = detect(url)
    assert trigger is not None and (trigger.system, trigger.action) == (system, action)


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    "https://events.pagerduty.com/v2/enqueue",
    "http://alert-logger:8080/alerts",
])
def test_notification_webhooks_are_not_remediation(url):
    assert detect(url) is None


def test_webhook_urls_are_shown_without_secrets():
    slack = "https://hooks.slack.com/services/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"
    assert safe_url(slack) == "https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/***"
    assert "Zq8x7Lw2Vb9Mn4Kp1Rt6Ys3D" not in redact(f"posted to {slack}")  # registered
    gitlab = "https://u:pw-9988aa@gitlab.com/api/v4/projects/42/trigger/pipeline?token=glptt-77aa88bb99cc00dd&ref=main"
    shown = safe_url(gitlab)
    assert shown == "https://gitlab.com/api/v4/projects/42/trigger/pipeline?…"
    assert "glptt-77aa88bb99cc00dd" not in redact(f"url={gitlab} again glptt-77aa88bb99cc00dd")
    # an ordinary query value is not turned into a global secret
    assert redact("main branch") == "main branch"


CONFIG = """
route:
  receiver: default
  routes:
    - matchers: ['team="ml"', 'alertname=~"Model.*"']
      receiver: retrain
      continue: true
    - match: {severity: page}
      receiver: pager
      routes:
        - match_re: {service: "^(fraud|churn)$"}
          receiver: ml-pager
receivers:
  - name: default
  - name: retrain
    webhook_configs: [{url: "https://api.github.com/repos/a/b/dispatches"}]
  - name: pager
    pagerduty_configs: [{routing_key: "<secret>"}]
  - name: ml-pager
    webhook_configs: [{url: "<secret>"}]
  - name: orphan
    webhook_configs: [{url: "http://x/retrain"}]
"""


def test_routing_tree_is_replayed_like_alertmanager():
    config = parse_config(CONFIG)
    root = config.root
    assert receivers_for(root, {"alertname": "ModelDrift", "team": "ml"}) == ["retrain"]
    # continue: true → the next matching sibling is tried too
    assert receivers_for(root, {"alertname": "ModelDrift", "team": "ml", "severity": "page"}) == \
        ["pager", "retrain"]
    assert receivers_for(root, {"severity": "page", "service": "churn"}) == ["ml-pager"]
    assert receivers_for(root, {"alertname": "Other"}) == ["default"]
    assert routed_receivers(root) == {"default", "retrain", "pager", "ml-pager"}
    assert config.receivers["pager"].integrations == ("pagerduty",)
    assert config.receivers["ml-pager"].webhooks[0].hidden


def test_config_that_is_not_alertmanager():
    with pytest.raises(ValueError):
        parse_config("- just\n- a list\n")


def test_a_config_nested_absurdly_deep_is_refused_in_one_line():
    with pytest.raises(ValueError, match="^configuration is not YAML: nested more than 200 levels deep$"):
        parse_config("route: " + "[" * 100_000 + "]" * 100_000)
