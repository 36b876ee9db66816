"""The shipped read-only policy is enough, and the probe never calls anything mutating:
moto's IAM enforcement on, the whole probe runs as a user holding only that policy."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from probes.aws.actions import CALLS, READ_ONLY_PREFIXES
from tests.servers import aws_seed
from tests.servers.aws import MOTO_IAM_ALIASES, MOTO_IAM_UNVERIFIABLE, FaultProxy, enforce_iam
from tests.servers.aws_run import run_probe

ROOT = Path(__file__).resolve().parents[2]


def test_whole_probe_runs_on_the_shipped_policy_alone(
        aws_auth: tuple[FaultProxy, str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, url, moto = aws_auth
    regions = ("eu-west-1", "us-east-1")
    aws_seed.production_account(url, regions)
    aws_seed.research_account(url)
    policy = (ROOT / "docs/permissions/aws-readonly-policy.json").read_text()
    iam = aws_seed.client(url, "iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="read-only", PolicyDocument=policy)
    iam.put_user_policy(UserName="auditor", PolicyName="moto-aliases",
                        PolicyDocument=json.dumps(MOTO_IAM_ALIASES))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    enforce_iam(moto)

    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(model, **_: object) -> None:  # noqa: ANN001 - botocore OperationModel
        with lock:
            seen.append((model.service_model.service_name, model.name))

    r = run_probe(url, tmp_path, regions=list(regions), hooks=(("before-call", record),))
    unverifiable = [u for u in r.unobserved
                    if any(u.reason.startswith(f"{a} denied") for a in MOTO_IAM_UNVERIFIABLE)]
    assert not set(r.unobserved) - set(unverifiable), [u.reason for u in r.unobserved]
    assert len(r.evidence) > 50
    assert seen and all(op.startswith(READ_ONLY_PREFIXES) for _, op in seen), seen
    names = {(svc if svc != "monitoring" else "cloudwatch", op) for svc, op in seen}
    assert names <= set(CALLS), names - set(CALLS)
    assert key["SecretAccessKey"] not in json.dumps([i.to_dict() for i in r.items])
