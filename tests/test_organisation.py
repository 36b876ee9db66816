"""One audit over every kind of source at once, as a platform team would run it: git, a
Kubernetes cluster, Prometheus/Alertmanager, a container registry and an AWS account, in
three teams. Probes run concurrently; scopes pool their targets' evidence; nothing secret
reaches any report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor import registry
from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from auditor.probe import Policy
from tests.repos import make_stage6_repo
from tests.servers import aws_seed
from tests.servers.aws import FAKE_KEYS, moto_post
from tests.servers.kubernetes import TOKEN, write_kubeconfig
from tests.servers.prometheus import GITLAB_TRIGGER_TOKEN, PROM_PASSWORD, PROM_USER, SLACK_SECRET

SCHEMA = json.loads((Path(__file__).parents[1] / "auditor/schema/assessment.schema.json").read_text())


@pytest.fixture(scope="module")
def org(tmp_path_factory, kube_api, prometheus_stack, oci_registry, moto_server, mlflow_servers):
    tmp = tmp_path_factory.mktemp("org")
    aws_url = moto_server
    moto_post(aws_url, "/moto-api/reset")
    aws_seed.production_account(aws_url, ("eu-west-1", "us-east-1"))
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", kube_api.url, TOKEN, context="prod")
    docker_config = tmp / "docker-config.json"
    docker_config.write_text("{}")
    mp = pytest.MonkeyPatch()
    mp.setenv("ORG_PROM_USER", PROM_USER)
    mp.setenv("ORG_PROM_PASSWORD", PROM_PASSWORD)
    for key, value in FAKE_KEYS.items():
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    targets = [
        build_target({"name": "churn", "kind": "git", "path": str(make_stage6_repo(tmp / "churn")),
                      "labels": {"team": "retention"}}),
        build_target({"name": "mlflow-prod", "kind": "mlflow",
                      "tracking_uri": mlflow_servers["production"].url, "labels": {"team": "retention"}}),
        build_target({"name": "training", "kind": "git", "path": mlflow_servers["production"].facts["repo"],
                      "labels": {"team": "retention"}}),
        build_target({"name": "prod-cluster", "kind": "kubernetes", "kubeconfig": str(kubeconfig),
                      "context": "prod", "labels": {"team": "platform"}}),
        build_target({"name": "prom", "kind": "prometheus", "url": prometheus_stack.url,
                      "alertmanager_url": prometheus_stack.alertmanager_url,
                      "username_env": "ORG_PROM_USER", "password_env": "ORG_PROM_PASSWORD",
                      "labels": {"team": "platform"}}),
        build_target({"name": "registry", "kind": "oci", "url": oci_registry.url,
                      "docker_config": str(docker_config), "repositories": ["ml/*"],
                      "labels": {"team": "vision"}}),
        build_target({"name": "ml-prod", "kind": "aws", "regions": ["eu-west-1", "us-east-1"],
                      "endpoint_url": aws_url, "max_attempts": 1, "labels": {"team": "platform"}}),
    ]
    kube_api.reset()
    cfg = AuditConfig(targets=targets, policy=Policy(("eu-west-1",)))
    try:
        yield run_audit(cfg, cache_dir=tmp / "cache", jobs=4)
    finally:
        mp.undo()
        moto_post(aws_url, "/moto-api/reset")


def placement(a, kind, name):
    return next(p for p in a["placements"]
                if p["framework"] == "seven_stages" and p["scope"] == {"kind": kind, "name": name})


def stage(a, kind, name):
    return placement(a, kind, name)["stage"]


def test_every_probe_ran_and_the_document_is_valid(org):
    assert {t["probe"] for t in org["probes"]} == {"git", "mlflow", "kubernetes", "prometheus", "oci",
                                                   "aws"}
    assert all(t["status"] != "error" for t in org["targets"]), org["unobserved"]
    # a target is partial exactly when something it could show was not observed
    unseen = {u["target"] for u in org["unobserved"] if u["signals"]}
    assert {t["name"] for t in org["targets"] if t["status"] == "partial"} == unseen
    jsonschema.validate(org.to_dict(), SCHEMA)


def test_organisation_is_the_median_of_teams_with_projects_never_the_union(org):
    from auditor.placement import median_low

    retention = placement(org, "team", "retention")
    projects = [stage(org, "target", n) for n in ("churn", "training")]
    assert retention["basis"] == "members"
    assert retention["stage"] == median_low(projects)
    assert stage(org, "target", "churn") == 6
    # teams with only platform sources are judged on their pooled evidence; the organisation
    # rolls up the teams that have projects, so it sits at the retention team's stage
    assert placement(org, "team", "platform")["basis"] == "pooled"
    assert placement(org, "team", "vision")["basis"] == "pooled"
    o = placement(org, "org", "organisation")
    assert o["stage"] == retention["stage"] and [m["scope"]["name"] for m in o["members"]] == ["retention"]
    # the cluster and the AWS account show what a repository cannot: audit logging, for the
    # team they serve, and for a repository whose image the cluster runs
    platform = {c["id"]: c["status"] for c in org["capabilities"]
                if c["scope"] == {"kind": "team", "name": "platform"}}
    assert platform["audit_logging"] == "met"
    training = {c["id"]: c["status"] for c in org["capabilities"]
                if c["scope"] == {"kind": "target", "name": "training"}}
    assert training["audit_logging"] == "unknown"  # only MLflow serves it: not observable
    assert training["experiment_tracking"] == "met"  # the production runs cite its commit
    served = {s["target"]: s["serves"]["name"] for s in org["sources"]}
    assert served == {"mlflow-prod": "retention", "prod-cluster": "platform", "prom": "platform",
                      "registry": "vision", "ml-prod": "platform"}


def test_runs_link_to_commits_of_an_audited_repository(org):
    commit_links = [link for link in org["links"] if link["kind"] == "commit"]
    assert commit_links
    assert {(link["from_target"], link["to_target"]) for link in commit_links} == {("mlflow-prod", "training")}
    integration = next(c for c in org["capabilities"] if c["scope"] == {"kind": "team", "name": "retention"}
                       and c["id"] == "cross_source_integration")
    assert integration["status"] == "met"


def test_inventory_and_compliance_span_sources(org):
    teams_by_tool = {t["tool"]: set(t["teams"]) for t in org["inventory"]["tools"]}
    assert len({team for teams in teams_by_tool.values() for team in teams}) >= 2
    residency = next(c for c in org["compliance"] if c["id"] == "data_residency")
    assert residency["status"] == "fail" and any("us-east-1" in v for v in residency["violations"])


def test_no_secret_in_any_report(org):
    known = [TOKEN, PROM_PASSWORD, GITLAB_TRIGGER_TOKEN, SLACK_SECRET]
    for name, item in registry.reports().items():
        text = item.obj().render(org)
        text = text.decode() if isinstance(text, bytes) else text  # json renders UTF-8 bytes
        for secret in known:
            assert secret not in text, (name, secret)
