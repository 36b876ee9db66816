"""AWS probe bad input: each failure is a one-line unobserved reason, no secret leaks, and
the rest of the audit goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.aws import AwsProbe
from tests.servers import aws_seed
from tests.servers._util import free_port
from tests.servers.aws import MOTO_IAM_ALIASES, FaultProxy, enforce_iam
from tests.servers.aws_run import SECRETS, run_probe


def _whole_target_failure(r, fragment: str) -> None:
    assert not r.evidence
    [u] = r.unobserved
    assert fragment in u.reason and "\n" not in u.reason
    assert set(u.signals) == set(AwsProbe.signals)  # the engine says unknown, never unmet
    for secret in SECRETS:
        assert secret not in r.dump()


def test_no_credentials(aws_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = run_probe(aws_url, tmp_path)
    _whole_target_failure(r, "found no AWS credentials; set profile or role_arn")


def test_invalid_credentials(aws_auth: tuple[FaultProxy, str, str], tmp_path: Path) -> None:
    _, url, moto = aws_auth
    enforce_iam(moto)  # moto now checks keys: the fake ones are unknown
    r = run_probe(url, tmp_path)
    _whole_target_failure(r, "AWS rejected the access key (InvalidClientTokenId)")


def test_expired_credentials(fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    proxy, url = fault_proxy
    proxy.rules["GetCallerIdentity"] = [403, "ExpiredToken", None]
    r = run_probe(url, tmp_path)
    _whole_target_failure(r, "the AWS session has expired (ExpiredToken)")


def test_region_not_enabled(aws_url: str, tmp_path: Path) -> None:
    aws_seed.research_account(aws_url)
    r = run_probe(aws_url, tmp_path, regions=["eu-west-1", "me-nowhere-9"])
    [u] = r.unobserved
    assert u.reason.startswith("region me-nowhere-9 is not enabled for this account")
    assert u.signals == ()  # a disabled region holds nothing
    assert r.find("compute.notebook_server")  # the enabled region is still audited


def test_throttling_is_retried_then_reported(fault_proxy: tuple[FaultProxy, str],
                                             tmp_path: Path) -> None:
    proxy, url = fault_proxy
    aws_seed.research_account(url)
    aws_seed._events(url, "eu-west-1")
    proxy.rules["ListRules"] = [400, "ThrottlingException", None]
    r = run_probe(url, tmp_path, max_attempts=2)
    assert proxy.hits["ListRules"] == 2  # tried, retried, then given up
    [u] = [u for u in r.unobserved if "events:ListRules" in u.reason]
    assert u.reason == "events:ListRules throttled by AWS after 2 attempts; retry later or raise max_attempts"
    assert "schedule" in u.signals and "remediation" in u.signals
    assert not r.find("schedule.job", tool="eventbridge")
    assert r.find("schedule.job", tool="eventbridge-scheduler")  # everything else went on
    assert r.find("compute.notebook_server")


def test_transient_throttling_recovers(fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    proxy, url = fault_proxy
    aws_seed._events(url, "eu-west-1")
    proxy.rules["ListRules"] = [400, "ThrottlingException", 1]
    r = run_probe(url, tmp_path, max_attempts=3)
    assert not r.unobserved
    assert r.find("schedule.job", tool="eventbridge")


def test_access_denied_on_some_services(aws_auth: tuple[FaultProxy, str, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, url, moto = aws_auth
    aws_seed.production_account(url, ("eu-west-1",))
    policy = json.loads(Path("docs/permissions/aws-readonly-policy.json").read_text())
    policy["Statement"].append({"Effect": "Deny", "Resource": "*",
                                "Action": ["sagemaker:Search", "codepipeline:ListPipelines"]})
    key, secret = _user(url, "partial-auditor", policy)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    enforce_iam(moto)
    r = run_probe(url, tmp_path)
    denied = {u.reason for u in r.unobserved if "denied" in u.reason
              and not u.reason.startswith("scheduler:")}  # moto cannot authorise Scheduler
    assert denied == {
        "sagemaker:Search denied: grant this IAM action (docs/permissions/aws-readonly-policy.json)",
        "codepipeline:ListPipelines denied: grant this IAM action (docs/permissions/aws-readonly-policy.json)"}
    search = [u for u in r.unobserved if "sagemaker:Search" in u.reason]
    assert any("serving" in u.signals for u in search)
    assert any("distributed" in u.signals for u in search)
    assert not r.find("serving.deployment") and not r.find("ci.pipeline", tool="codepipeline")
    # the rest continued
    assert r.find("registry.model_version") and r.find("ci.pipeline", tool="codebuild")
    assert r.find("monitoring.model_rule")
    assert secret not in r.dump()


def test_endpoint_that_is_not_aws(fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    proxy, url = fault_proxy
    proxy.not_aws = True
    r = run_probe(url, tmp_path)
    _whole_target_failure(r, f"{url} does not answer like an AWS API")


def test_endpoint_that_does_not_answer(aws_url: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    r = run_probe(url, tmp_path)
    _whole_target_failure(r, f"cannot connect to {url}")


def test_server_error_on_one_api(fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    proxy, url = fault_proxy
    aws_seed.research_account(url)
    proxy.rules["ListNotebookInstances"] = [500, "InternalFailure", None]
    r = run_probe(url, tmp_path)
    [u] = r.unobserved
    assert u.reason == "sagemaker:ListNotebookInstances failed: server error (HTTP 500)"
    assert r.find("compute.workspace")


def _user(url: str, name: str, policy: dict) -> tuple[str, str]:
    iam = aws_seed.client(url, "iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="auditor", PolicyDocument=json.dumps(policy))
    iam.put_user_policy(UserName=name, PolicyName="moto-aliases",
                        PolicyDocument=json.dumps(MOTO_IAM_ALIASES))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_assume_role_denied(aws_auth: tuple[FaultProxy, str, str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    _, url, moto = aws_auth
    policy = json.loads(Path("docs/permissions/aws-readonly-policy.json").read_text())
    key, secret = _user(url, "no-assume", policy)  # may read, may not assume roles
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    enforce_iam(moto)
    r = run_probe(url, tmp_path, role_arn="arn:aws:iam::123456789012:role/auditor")
    _whole_target_failure(r, "cannot assume arn:aws:iam::123456789012:role/auditor: "
                             "sts:AssumeRole denied; check the role's trust policy")
    assert secret not in r.dump()
