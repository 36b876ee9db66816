"""A seeded estate full of secrets, audited end to end through the command line: no planted
secret may appear in any report format, in history, or in the (verbose) log.

Secrets are planted where they reach evidence excerpts and reasons: CI steps the git probe
quotes (webhook URLs of Slack, Teams, Discord and Mattermost, SAS ``sig=``, ``?token=``,
basic-auth headers, ``curl -u``, connection strings, CLI flags), a SageMaker model package
group description, ``${VAR}`` values put into a ``ref:`` that does not exist and into a clone
URL that cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import aws_seed
from tests.servers._util import free_port
from tests.servers.aws import FAKE_KEYS

WORKFLOW = """\
name: deploy
on:
  push: {branches: [main]}
  schedule: [{cron: "0 4 * * 1"}]
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - run: python train.py --tracking-token=Tr4ckTok3n-f00ba7 --db-password hunter2Hunter2x
      - run: python train.py --notify https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/SlackWebh00kS3cretPart
      - run: python train.py --data "https://acct.blob.core.windows.net/d/x.csv?sv=2022-11-02&sp=r&sig=SaSs1gnatureV4lue0987%3D"
      - run: python train.py --report https://discord.com/api/webhooks/123456789012345678/D1scordTok3nValueXYZ
      - run: docker login -u bot -p Dock3rPassw0rd-99 registry.example.com && docker push registry.example.com/ml/churn:1.0
  deploy:
    runs-on: ubuntu-latest
    needs: train
    steps:
      - run: kubectl apply -f k8s/ && curl -u deployer:CurlUs3rPassw0rd https://deploy.example.com/api/rollout
      - run: 'helm upgrade churn ./chart && curl -H "Authorization: Basic ZGVwbG95ZXI6QmFzaWNBdXRoUGFzc3dvcmQ=" https://deploy.example.com/ok'
      - run: kubectl apply -f k8s/ && curl https://contoso.webhook.office.com/webhookb2/a-b@c-d/IncomingWebhook/T3amsS3cretPath77/e-f
      - run: kubectl apply -f k8s/ && curl "https://api.example.com/v1/notify?token=Qu3ryT0kenValue55&env=prod"
      - run: kubectl apply -f k8s/ && az storage blob upload --connection-string "AccountName=acct;AccountKey=QXp1cmVBY2NvdW50S2V5VmFsdWU=" -f m.pkl
      - run: kubectl apply -f k8s/ && curl https://chat.example.com/hooks/m4ttermostH00kT0ken1234
"""

PLANTED_IN_GIT = ("Tr4ckTok3n-f00ba7", "hunter2Hunter2x", "SlackWebh00kS3cretPart",
                  "SaSs1gnatureV4lue0987", "D1scordTok3nValueXYZ", "Dock3rPassw0rd-99",
                  "CurlUs3rPassw0rd", "ZGVwbG95ZXI6QmFzaWNBdXRoUGFzc3dvcmQ=", "T3amsS3cretPath77",
                  "Qu3ryT0kenValue55", "QXp1cmVBY2NvdW50S2V5VmFsdWU=", "m4ttermostH00kT0ken1234")
PLANTED_IN_AWS = ("SageMakerDescSlackS3cret",)
PLANTED_IN_ENV = {"ESTATE_REF": "Ref-S3cret-Vq8zR4nd", "ESTATE_GIT_TOKEN": "GitTok3n-Expanded-77x"}
PLANTED = PLANTED_IN_GIT + PLANTED_IN_AWS + tuple(PLANTED_IN_ENV.values())
FORMATS = ("json", "markdown", "junit", "sarif", "csv", "html", "prometheus")


def _repo(path: Path) -> Path:
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "deploy.yml").write_text(WORKFLOW)
    (path / "train.py").write_text("import mlflow\n\nmlflow.autolog()\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "ci"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


def audit_estate(tmp_path: Path, aws_url: str) -> str:
    """Everything the command wrote or printed, as one text."""
    repo = _repo(tmp_path / "repo")
    sm = aws_seed.client(aws_url, "sagemaker")
    sm.create_model_package_group(
        ModelPackageGroupName="churn", ModelPackageGroupDescription=(
            "Churn model; alerts go to https://hooks.slack.com/services/T0/B0/SageMakerDescSlackS3cret"))
    config = tmp_path / "audit.yaml"
    config.write_text(f"""\
targets:
  - {{name: churn, kind: git, path: '{repo}', labels: {{team: retention}}}}
  - {{name: churn-release, kind: git, path: '{repo}', ref: '${{ESTATE_REF}}'}}
  - {{name: remote, kind: git, url: 'http://ci:${{ESTATE_GIT_TOKEN}}@127.0.0.1:{free_port()}/r.git'}}
  - {{name: account, kind: aws, endpoint_url: '{aws_url}', regions: [eu-west-1], max_attempts: 1}}
""")
    out = tmp_path / "out"
    env = {**os.environ, **FAKE_KEYS, **PLANTED_IN_ENV}
    formats = [arg for f in FORMATS for arg in ("-f", f)]
    proc = subprocess.run(
        [sys.executable, "-c", "from auditor.cli import main; main()", "audit", "-v",
         "--config", str(config), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
         *formats], capture_output=True, text=True, env=env, timeout=600,
        cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= len(FORMATS) + 1  # every format and a history entry
    return proc.stdout + proc.stderr + "".join(_text(p) for p in written)


def _text(path: Path) -> str:
    """A written file as text; a compressed one (history) decompressed first."""
    import gzip

    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode(errors="replace")


@pytest.mark.slow
def test_no_planted_secret_reaches_any_output(aws_url: str, tmp_path: Path) -> None:
    text = audit_estate(tmp_path, aws_url)
    assert "ci.deploy_step" in text and "churn-release" in text  # the estate was audited
    leaked = [s for s in PLANTED if s in text]
    assert leaked == [], f"{len(leaked)} of {len(PLANTED)} planted secrets leaked: {leaked}"
