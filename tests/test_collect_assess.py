"""collect + assess give the assessment audit gives, whole or sharded into three and
reassembled, from folders or from S3 (moto in server mode); links between a repository and the
MLflow server whose runs cite its commit resolve across shards; re-assessing needs no network.

The estate: the repository the production MLflow server's runs cite, that server, and a
second repository, named so that each lands in a different shard of three."""

from __future__ import annotations

import gzip
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor import audit, config, store
from auditor.cli import cli
from auditor.shards import Shard, shard_of
from tests.repos import make_stage2_repo
from tests.test_placements import normalise

#: one clock for every run here, so figures measured against it agree
NOW = datetime.now(UTC)


def _named(shard: int, prefix: str) -> str:
    """The first ``prefix-N`` that lands in ``shard`` of 3."""
    return next(f"{prefix}-{i}" for i in range(1000) if shard_of(f"{prefix}-{i}", 3) == shard)


REPO, MLFLOW, OTHER = _named(1, "churn"), _named(2, "mlflow"), _named(3, "notebooks")


def _config_text(url: str, repo: str, other: Path, waivers: str = "") -> str:
    return (f"targets:\n"
            f"  - {{name: {REPO}, kind: git, path: '{repo}', labels: {{team: risk}}}}\n"
            f"  - {{name: {MLFLOW}, kind: mlflow, tracking_uri: '{url}', labels: {{team: risk}}}}\n"
            f"  - {{name: {OTHER}, kind: git, path: '{other}', labels: {{team: research}}}}\n"
            f"settings: {{timeout: 120}}\n" + waivers)


@pytest.fixture(scope="module")
def estate(mlflow_servers, tmp_path_factory) -> dict[str, Any]:
    """The configuration, the audit of it, and its evidence collected whole and in 3 shards
    (all with the same clock)."""
    root = tmp_path_factory.mktemp("estate")
    srv = mlflow_servers["production"]
    other = make_stage2_repo(root / "other")
    path = root / "audit.yaml"
    path.write_text(_config_text(srv.url, srv.facts["repo"], other))
    cfg = config.load(path)
    audited = audit.run_audit(cfg, cache_dir=root / "cache", now=NOW, jobs=2)
    for name, shard in [("whole", None), *((f"shard-{i}", Shard(i, 3)) for i in (1, 2, 3))]:
        writer = store.EvidenceWriter.for_config(root / name, cfg, shard=shard, now=NOW, jobs=2)
        audit.collect(cfg, writer, targets=shard.select(cfg.targets) if shard else None,
                      cache_dir=root / "cache", now=NOW, jobs=2, holdings=True)
        writer.finish()
    return {"root": root, "config": path, "audit": audited, "server": srv}


def _assess(locations: list[str], config_path: Path | None = None, **kw: Any) -> dict[str, Any]:
    with store.open_evidence(locations) as stored:
        inputs = stored.inputs(config_path)
        return stored.assess(inputs, frameworks=kw.pop("frameworks", None)
                             or [inputs.settings.framework], **kw)


def _same(a: dict[str, Any], b: dict[str, Any], root: Path) -> None:
    na, nb = normalise(a, root), normalise(b, root)
    assert [k for k in na if na[k] != nb.get(k)] == []
    assert na == nb


def _commit_links(a: dict[str, Any]) -> list[dict[str, Any]]:
    return [link for link in a["links"] if link["kind"] == "commit"]


def test_collect_then_assess_is_the_audit(estate) -> None:
    a = _assess([str(estate["root"] / "whole")])
    _same(a, estate["audit"], estate["root"])
    links = _commit_links(a)
    assert links and {(x["from_target"], x["to_target"]) for x in links} == {(MLFLOW, REPO)}
    assert a["run"]["collected"]["runs"][0]["shard"] is None


def test_three_shards_reassembled_resolve_links_across_shards(estate) -> None:
    root = estate["root"]
    lines = {}
    for i in (1, 2, 3):
        manifest = json.loads((root / f"shard-{i}" / f"manifest-{i}-of-3.json").read_text())
        lines[i] = [t["name"] for t in manifest["targets"]]
    assert lines == {1: [REPO], 2: [MLFLOW], 3: [OTHER]}
    # the repository's shard never saw the MLflow runs: no commit evidence was resolved there,
    # only what it holds was recorded
    [repo_file] = (root / "shard-1").glob("*.jsonl.gz")
    records = [json.loads(line) for line in gzip.decompress(repo_file.read_bytes()).splitlines()]
    assert not [r for r in records if r.get("type") == "evidence" and r["signal"] == "vcs.commit"]
    [held] = [r for r in records if r.get("type") == "holdings"]
    assert estate["server"].facts["commit"] in held["items"]

    a = _assess([str(root / f"shard-{i}") for i in (3, 1, 2)])  # any order
    _same(a, estate["audit"], root)
    assert len(_commit_links(a)) == len(_commit_links(estate["audit"])) == 3
    assert sorted(r["shard"] for r in a["run"]["collected"]["runs"]) == ["1/3", "2/3", "3/3"]


def test_a_missing_shard_is_reported(estate) -> None:
    root = estate["root"]
    with pytest.raises(store.StoreError, match=r"shard 2/3 .* is missing"):
        _assess([str(root / "shard-1"), str(root / "shard-3")])
    with store.open_evidence([str(root / "shard-1"), str(root / "shard-3")],
                             allow_missing_shards=True) as stored:
        a = stored.assess(stored.inputs(), frameworks=["seven_stages"])
    assert a["partial"] and a["run"]["collected"]["missing_shards"] == ["2/3"]
    assert {t["name"]: t["status"] for t in a["targets"]}[MLFLOW] == "error"
    assert not _commit_links(a)


def _no_network(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("assess opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_reassess_with_another_framework_and_waivers_needs_no_network(
        estate, mlflow_unreachable_url, monkeypatch, tmp_path) -> None:
    root, srv = estate["root"], estate["server"]
    waivers = ("waivers:\n  - {capability: model_serving, scope: 'team:risk', reason: 'next quarter',"
               " expires: 2099-01-01}\n")
    # what audit says with that framework and waiver (network allowed)
    (tmp_path / "real.yaml").write_text(_config_text(srv.url, srv.facts["repo"], root / "other", waivers))
    expected = audit.run_audit(config.load(tmp_path / "real.yaml"), cache_dir=root / "cache",
                               now=NOW, jobs=2, frameworks=["google_mlops_levels", "seven_stages"])
    # the same from stored shards, with the server's URL unreachable in the config given, a
    # variable no one set in a target's settings, and every socket refused
    offline = _config_text(mlflow_unreachable_url, srv.facts["repo"], root / "other", waivers)
    (tmp_path / "offline.yaml").write_text(offline.replace("settings:", (
        "  - {name: later, kind: mlflow, tracking_uri: '${NOT_SET_HERE}'}\nsettings:")))
    _no_network(monkeypatch)
    a = _assess([str(root / f"shard-{i}") for i in (1, 2, 3)], tmp_path / "offline.yaml",
                frameworks=["google_mlops_levels", "seven_stages"])
    _same(a, expected, root)
    assert [f["id"] for f in a["frameworks"]] == ["google_mlops_levels", "seven_stages"]
    assert a["waivers"][0]["capability"] == "model_serving"
    assert _commit_links(a)

    # and through the command line, from the evidence alone
    out = tmp_path / "reports"
    result = CliRunner().invoke(cli, ["assess", str(root / "shard-1"), str(root / "shard-2"),
                                      str(root / "shard-3"), "--out", str(out), "-q", "--no-history",
                                      "--framework", "microsoft_mlops_levels", "-f", "json",
                                      "-f", "sarif", "-f", "html"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "assessment.json").read_text())
    assert [f["id"] for f in doc["frameworks"]] == ["microsoft_mlops_levels"]
    assert (out / "mlops-audit.sarif").exists() and (out / "report.html").exists()


@pytest.fixture
def bucket(moto_url, monkeypatch) -> Any:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="eu-west-1")
    s3.create_bucket(Bucket="audit-evidence",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return s3


def _upload(s3: Any, folder: Path, prefix: str) -> None:
    for path in sorted(folder.iterdir()):
        s3.put_object(Bucket="audit-evidence", Key=f"{prefix}/{path.name}", Body=path.read_bytes())


def test_assess_reads_shards_from_s3(estate, bucket) -> None:
    root = estate["root"]
    for i in (1, 2, 3):
        _upload(bucket, root / f"shard-{i}", f"nightly/2026-11-20/shard-{i}")
    _upload(bucket, root / "whole", "nightly/2026-11-19")  # another night, not asked for
    a = _assess(["s3://audit-evidence/nightly/2026-11-20"])
    _same(a, estate["audit"], root)
    assert {r["location"].rsplit("/", 1)[-1] for r in a["run"]["collected"]["runs"]} == {
        "manifest-1-of-3.json", "manifest-2-of-3.json", "manifest-3-of-3.json"}

    # a shard missing there, a prefix with nothing, a bucket that does not exist: one line each
    bucket.delete_object(Bucket="audit-evidence", Key="nightly/2026-11-20/shard-2/manifest-2-of-3.json")
    for location, message in [("s3://audit-evidence/nightly/2026-11-20", "shard 2/3"),
                              ("s3://audit-evidence/weekly", "no evidence here"),
                              ("s3://no-such-bucket-here/x", "NoSuchBucket")]:
        result = CliRunner().invoke(cli, ["assess", location, "--out", str(root / "s3-reports"),
                                          "-q", "--no-history"], catch_exceptions=False)
        assert result.exit_code == 2, result.output
        [line] = result.output.strip().splitlines()
        assert line.startswith("mlops-auditor: ") and message in line, line
