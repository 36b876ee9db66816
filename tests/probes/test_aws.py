"""AWS probe against moto in server mode: empty, research-only and production-like accounts."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from auditor.config import ConfigError, build_target
from auditor.evidence import Strength
from probes.aws.actions import CALLS, READ_ONLY_PREFIXES, iam_action, policy_document
from tests.servers import aws_seed
from tests.servers.aws_run import SECRETS, run_probe

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["eu-west-1", "us-east-1"]


def test_shipped_policy_is_exactly_the_calls_the_probe_makes() -> None:
    shipped = json.loads((ROOT / "docs/permissions/aws-readonly-policy.json").read_text())
    assert shipped == policy_document()
    actions = shipped["Statement"][0]["Action"]
    assert sorted({iam_action(s, o) for s, o in CALLS}) == actions
    assert all(op.startswith(READ_ONLY_PREFIXES) for _, op in CALLS)


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({"name": "a", "kind": "aws", "region": "eu-west-1"})
    with pytest.raises(ConfigError, match="regions"):
        build_target({"name": "a", "kind": "aws", "regions": []})
    with pytest.raises(ConfigError, match="role_arn"):
        build_target({"name": "a", "kind": "aws", "role_arn": "admin"})
    t = build_target({"name": "a", "kind": "aws", "regions": "all-enabled", "profile": "p"})
    assert t.settings.regions == "all-enabled"


def test_empty_account_claims_nothing(aws_url: str, tmp_path: Path) -> None:
    r = run_probe(aws_url, tmp_path, regions=REGIONS)
    # only the tempo figures, and they say zero
    assert r.signals() <= {"tempo.training_runs_per_week", "tempo.model_versions_per_month"}
    assert all(e.attributes["value"] == 0 for e in r.evidence)
    assert not any("denied" in reason for reason in r.reasons())
    assert not r.unobserved


def test_research_only_account(aws_url: str, tmp_path: Path) -> None:
    aws_seed.research_account(aws_url)
    r = run_probe(aws_url, tmp_path, regions=REGIONS)
    [ws] = r.find("compute.workspace")
    assert ws.locator.startswith("arn:aws:sagemaker:eu-west-1:123456789012:domain/")
    assert ws.attributes["domain"] == "research"
    [nb] = r.find("compute.notebook_server")
    assert nb.strength == Strength.OPERATING and nb.attributes["direct_internet"] == "Enabled"
    assert nb.locator == "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/explore"
    [img] = r.find("image.unversioned")
    assert img.attributes["sample_tags"] is None if "sample_tags" in img.attributes else True
    assert img.attributes["link_keys"] == [
        "image:123456789012.dkr.ecr.eu-west-1.amazonaws.com/notebook-image"]
    # nothing of deployment, registry, monitoring or data versioning
    for absent in ("serving.deployment", "pipeline.definition", "registry.model_version",
                   "monitoring.model_job", "data_versioning.store", "schedule.job",
                   "ci.pipeline", "audit.logging", "cost.control", "security.network_policy"):
        assert not r.find(absent), absent
    assert r.find("security.access_control", role="sagemaker-execution")


def test_production_account_across_two_regions(aws_url: str, tmp_path: Path) -> None:
    aws_seed.production_account(aws_url, tuple(REGIONS))
    calls: dict[str, list[float]] = {}
    lock = threading.Lock()

    def record(context: dict, **_: object) -> None:
        with lock:
            calls.setdefault(context.get("client_region") or "?", []).append(time.monotonic())

    r = run_probe(aws_url, tmp_path, allowed=("eu-west-1", "eu-central-1"), regions=REGIONS,
                  hooks=(("before-call.sagemaker", record),))
    # the two regions are read at the same time, not one after the other
    (a0, a1), (b0, b1) = [(min(t), max(t)) for region, t in calls.items() if region in REGIONS]
    assert a0 < b1 and b0 < a1, "regions did not overlap in time"
    expected = {
        "distributed.workload", "pipeline.definition", "serving.deployment",
        "serving.autoscaling", "schedule.job", "ci.pipeline", "ci.deploy_step",
        "feature_store.definition", "monitoring.model_job", "fairness.check",
        "explainability.check", "monitoring.model_rule", "monitoring.operational_rule",
        "remediation.trigger", "docs.model_card", "registry.model_version",
        "governance.approval", "data_versioning.store", "image.versioned", "security.scanning",
        "audit.logging", "security.encryption", "security.access_control", "cost.control",
        "residency.region", "tempo.training_runs_per_week", "tempo.model_versions_per_month",
    }
    assert expected <= r.signals(), expected - r.signals()
    for region in REGIONS:  # every regional thing is seen in both regions
        [ep] = r.find("serving.deployment", region=region)
        assert ep.strength == Strength.OPERATING
        assert ep.locator == f"arn:aws:sagemaker:{region}:123456789012:endpoint/churn-0"
        assert ep.attributes["data_capture"] is True and ep.attributes["instances"] == 2
        assert r.find("serving.autoscaling", region=region, max_capacity=4)
        [reg] = r.find("registry.model_version", region=region)
        assert reg.attributes["link_keys"] == ["model:churn-model"]
        assert reg.attributes["versions"] == 2 and reg.strength == Strength.OPERATING
        assert r.find("governance.approval", region=region, tool="sagemaker-model-registry",
                      approved=1, pending=1)
        [dist] = r.find("distributed.workload", region=region)
        assert dist.attributes["instance_count"] == 2
        assert {e.attributes["tool"] for e in r.find("schedule.job", region=region)} == {
            "eventbridge", "eventbridge-scheduler"}
        chains = {e.attributes["chain"] for e in r.find("remediation.trigger", region=region)}
        assert chains == {"alarm->lambda", "alarm->eventbridge->sagemaker-pipeline"}
        [model_rule] = r.find("monitoring.model_rule", region=region)
        assert model_rule.attributes["alarm"] == "churn-drift"
        [ops_rule] = r.find("monitoring.operational_rule", region=region)
        assert ops_rule.attributes["metric"] == "ModelLatency"
        assert r.find("image.versioned", region=region, immutable_tags=True)
        assert r.find("pipeline.definition", region=region)
        assert {e.attributes["tool"] for e in r.find("ci.deploy_step", region=region)} == {
            "codepipeline", "codebuild"}
        assert r.find("docs.model_card", region=region)[0].strength == Strength.CONFIGURED
    # one multi-region trail, read once, logging with validation
    [trail] = r.find("audit.logging")
    assert trail.strength == Strength.OPERATING and trail.attributes["log_file_validation"]
    # where resources are, as observed; the policy is judged by compliance, not the probe
    residency = {e.attributes["region"]: e.attributes for e in r.find("residency.region")}
    assert set(residency) == {"eu-west-1", "us-east-1"}
    assert all("allowed" not in a and a["resources"] > 0 for a in residency.values())
    # bucket controls are attributed to the bucket's own region
    [ver] = r.find("data_versioning.store", bucket="ml-data-us-east-1")
    assert ver.attributes["region"] == "us-east-1" and ver.locator == "arn:aws:s3:::ml-data-us-east-1"
    assert r.find("security.encryption", bucket="ml-data-eu-west-1", kms=True)
    # tempo: two training jobs in the window of 4 weeks
    [tempo] = r.find("tempo.training_runs_per_week")
    assert tempo.attributes["value"] == 0.5 and tempo.attributes["unit"] == "per_week"
    assert all(e.locator.startswith("arn:aws:") for e in r.evidence)
    assert not any("denied" in reason for reason in r.reasons())
    for secret in SECRETS:
        assert secret not in r.dump()


def test_profile_credentials(aws_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_seed.research_account(aws_url)
    creds = tmp_path / "credentials"
    creds.write_text("[ml-prod]\naws_access_key_id = AKIAPROFILEKEY000001\n"
                     "aws_secret_access_key = profile-secret-value-123\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = run_probe(aws_url, tmp_path, profile="ml-prod")
    assert r.find("compute.notebook_server")
    assert "profile-secret-value-123" not in r.dump()
    missing = run_probe(aws_url, tmp_path, profile="nope")
    assert not missing.evidence
    [u] = missing.unobserved
    assert u.reason == "AWS profile not found: nope" and u.signals


def test_assumed_role(aws_url: str, tmp_path: Path) -> None:
    aws_seed.research_account(aws_url)
    r = run_probe(aws_url, tmp_path,
                  role_arn="arn:aws:iam::123456789012:role/auditor", external_id="ext-id-42")
    assert r.find("compute.notebook_server")
    assert "ext-id-42" not in r.dump()


def test_end_to_end_audit(aws_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.audit import run_audit
    from auditor.config import AuditConfig
    from auditor.probe import Policy

    aws_seed.production_account(aws_url, ("eu-west-1",))
    prod = build_target({"name": "ml-prod", "kind": "aws", "regions": ["eu-west-1"],
                         "endpoint_url": aws_url, "max_attempts": 1,
                         "labels": {"team": "platform"}})
    nowhere = build_target({"name": "ml-broken", "kind": "aws", "regions": ["eu-west-1"],
                            "profile": "does-not-exist", "labels": {"team": "other"}})
    cfg = AuditConfig(targets=[prod, nowhere], policy=Policy(("eu-west-1",)))
    a = run_audit(cfg, cache_dir=tmp_path)
    # accounts are platform sources: with no repository audited, each team is judged on the
    # pooled evidence of its own accounts
    status = {c["id"]: c["status"] for c in a["capabilities"]
              if c["scope"] == {"kind": "team", "name": "platform"}}
    for cap in ("model_serving", "scalable_serving", "ml_pipelines", "job_scheduling",
                "ci_cd_deployment", "feature_store", "distributed_compute", "model_monitoring",
                "model_registry", "versioned_images", "data_versioning", "alert_remediation",
                "bias_checks", "explainability", "model_documentation", "approval_workflow",
                "access_control", "security_controls", "audit_logging", "cost_monitoring"):
        assert status[cap] == "met", (cap, status[cap])
    provides = {c["capability"] for s in a["sources"] if s["target"] == "ml-prod" for c in s["provides"]}
    assert {"model_serving", "audit_logging", "cost_monitoring"} <= provides
    broken = {c["id"]: c["status"] for c in a["capabilities"]
              if c["scope"] == {"kind": "team", "name": "other"}}
    assert broken["model_serving"] == "unknown"  # not seen is not absent
    assert a["partial"] is True
    [u] = [u for u in a["unobserved"] if u["target"] == "ml-broken"]
    assert u["reason"] == "AWS profile not found: does-not-exist"
    assert "moto-fake-secret-0001" not in json.dumps(a.to_dict())


def test_all_enabled_regions_come_from_describe_regions(aws_url: str, tmp_path: Path) -> None:
    import boto3

    from auditor.probe import ProbeContext
    from probes.aws.collect import _regions
    from probes.aws.scan import Env, Scan
    from probes.aws.session import client_config

    target = build_target({"name": "a", "kind": "aws", "regions": "all-enabled",
                           "endpoint_url": aws_url})
    ctx = ProbeContext(probe="aws", cache_dir=tmp_path)
    emitted: list = []
    env = Env(settings=target.settings, target=target, ctx=ctx, session=boto3.Session(),
              config=client_config(target.settings, ctx), account="123456789012",
              partition="aws", emit=emitted.append)
    regions = _regions(Scan(env, "us-east-1"), target.settings, ())
    assert {"eu-west-1", "us-east-1", "eu-central-1"} <= set(regions) and not emitted


def test_endpoint_creator_from_cloudtrail_identity() -> None:
    from probes.aws.serving import creator_kind

    assert creator_kind({"type": "IAMUser", "arn": "arn:aws:iam::1:user/alice"}) == "person"
    sso = {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_x/bob"}
    assert creator_kind(sso) == "person"
    ci = {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/codebuild-deploy/x",
          "sessionContext": {"sessionIssuer": {"userName": "codebuild-deploy"}}}
    assert creator_kind(ci) == "ci"
    assert creator_kind({"type": "AssumedRole", "invokedBy": "cloudformation.amazonaws.com"}) == "ci"
    assert creator_kind({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/x/y"}) == "role"


def test_alarm_and_target_classification() -> None:
    from probes.aws.alarms import classify
    from probes.aws.events import target_kind

    ep = [{"Name": "EndpointName", "Value": "churn"}]
    assert classify("AWS/SageMaker", "ModelLatency", ep) == "operational"
    assert classify("AWS/SageMaker", "Invocation5XXErrors", ep) == "operational"
    assert classify("aws/sagemaker/Endpoints/data-metrics", "feature_baseline_drift_age", []) == "model"
    assert classify("Custom/Churn", "accuracy", []) == "model"
    assert classify("AWS/EC2", "CPUUtilization", []) is None
    assert target_kind("arn:aws:sagemaker:eu-west-1:1:pipeline/retrain") == "sagemaker-pipeline"
    assert target_kind("arn:aws:sagemaker:eu-west-1:1:endpoint/x") is None
    assert target_kind("arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution") == "sagemaker-pipeline"
    assert target_kind("arn:aws:lambda:eu-west-1:1:function:f") == "lambda"


def test_served_models_link_to_registry_and_images() -> None:
    from probes.aws.serving import model_links

    record = {"Model": {"ModelName": "churn-v2", "PrimaryContainer": {
        "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/Churn/serve:1.2@sha256:" + "a" * 64,
        "ModelPackageName": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-model/7"}},
        "Endpoints": [{"EndpointName": "churn-0"}]}
    endpoints, name, keys = model_links(record)
    assert endpoints == ["churn-0"] and name == "churn-v2"
    assert keys == {"model:churn-model",
                    "image:123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn/serve",
                    "image-digest:sha256:" + "a" * 64}


def test_target_from_cli_argument() -> None:
    from probes.aws import AwsProbe

    probe = AwsProbe()
    assert probe.target_from_argument("aws://ml-prod/eu-west-1,us-east-1") == {
        "name": "aws-ml-prod", "profile": "ml-prod", "regions": ["eu-west-1", "us-east-1"]}
    assert probe.target_from_argument("aws://default/all-enabled") == {
        "name": "aws-default", "regions": "all-enabled"}
    assert probe.target_from_argument("arn:aws:iam::123456789012:role/auditor") == {
        "name": "aws-123456789012", "role_arn": "arn:aws:iam::123456789012:role/auditor"}
    assert probe.target_from_argument("https://github.com/x/y") is None
    assert probe.target_from_argument("./repo") is None
