"""A real Dask cluster (``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1):
the same assessment as a local run; a worker that dies mid-task is replaced and the task runs
again; one that dies every time becomes an unobserved record; nothing lost, nothing twice;
collect through the cluster, then assess, equals the audit; a scheduler that is not there is
one clear line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from auditor import audit, store
from auditor.audit import run_audit
from auditor.cli import cli
from auditor.config import AuditConfig, build_target
from tests.repos import make_stage2_repo, make_stage6_repo
from tests.servers._util import free_port
from tests.test_placements import normalise

pytestmark = pytest.mark.usefixtures("test_plugin")
NOW = datetime.now(UTC)


def facts(name: str, **kw) -> object:
    return build_target({"name": name, "kind": "facts",
                         "facts": [{"signal": "vcs.repository", "strength": "operating"}], **kw})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    repos = [make_stage2_repo(root / "r2"), make_stage6_repo(root / "r6")]
    targets = [build_target({"name": f"repo-{i}", "kind": "git", "path": str(p),
                             "labels": {"team": "risk"}}) for i, p in enumerate(repos)]
    targets += [facts(f"svc-{i}", labels={"team": "ops"}) for i in range(4)]
    return root, targets


def test_a_cluster_gives_the_assessment_a_local_run_gives(dask_cluster, fleet, tmp_path):
    root, targets = fleet
    local = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "c1", now=NOW,
                      executor="threads")
    remote = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "c2", now=NOW,
                       executor=dask_cluster)
    assert remote["run"]["executor"] == dask_cluster
    assert normalise(remote, root) == normalise(local, root)
    assert [t["target"] for t in remote["probes"]] == sorted(t.name for t in targets)


def test_a_worker_that_dies_mid_task_is_replaced_and_the_task_runs_again(dask_cluster, tmp_path):
    marker = tmp_path / "died-once"
    targets = [facts("victim", crash=f"once:{marker}"), *(facts(f"ok-{i}") for i in range(3))]
    a = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "c", now=NOW,
                  executor=dask_cluster)
    assert marker.exists()
    assert a["unobserved"] == []
    assert sorted(e["target"] for e in a["evidence"]) == ["ok-0", "ok-1", "ok-2", "victim"]
    assert sorted(t["target"] for t in a["probes"]) == ["ok-0", "ok-1", "ok-2", "victim"]


def test_a_task_that_kills_every_worker_it_meets_is_reported_unobserved(dask_cluster, tmp_path):
    """Tasks queued on a worker when it dies share the blame with the one that killed it: they
    are run again alone, and only the culprit is reported."""
    ok = [f"ok-{i}" for i in range(8)]
    targets = [facts("doomed", crash="always"), *(facts(name, sleep=0.1) for name in ok)]
    a = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "c", now=NOW,
                  executor=dask_cluster)
    (u,) = a["unobserved"]
    assert u["target"] == "doomed"
    assert u["reason"] == "the Dask workers running it died, each time it was tried"
    assert sorted(e["target"] for e in a["evidence"]) == ok
    assert {t["name"]: t["status"] for t in a["targets"]}["doomed"] == "error"


def test_collect_on_the_cluster_then_assess_equals_the_audit(dask_cluster, fleet, tmp_path):
    root, targets = fleet
    cfg = AuditConfig(targets=targets)
    audited = run_audit(cfg, cache_dir=tmp_path / "c1", now=NOW, executor="threads")
    writer = store.EvidenceWriter(tmp_path / "ev", fleet=targets, shard=None, now=NOW,
                                  config_source="<arguments>", jobs=2, policy={}, waivers=[],
                                  settings={"framework": "seven_stages", "strict": False})
    stats = audit.collect(cfg, writer, cache_dir=tmp_path / "c2", now=NOW, holdings=True,
                          executor=dask_cluster)
    writer.executor = stats.executor
    manifest = json.loads(writer.finish().read_text())
    assert manifest["executor"] == dask_cluster and manifest["counts"]["targets"] == len(targets)
    with store.open_evidence([str(tmp_path / "ev")]) as stored:
        inputs = stored.inputs(None)
        assessed = stored.assess(inputs, frameworks=["seven_stages"])
    assert normalise(assessed, root) == normalise(audited, root)


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, fleet, monkeypatch):
    from auditor.executors import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    _, targets = fleet
    address = f"dask://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["audit", str(targets[0].settings.path), "--executor", address,
                                      "-o", str(tmp_path / "out"), "-q", "--no-history"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("mlops-auditor: cannot reach the Dask scheduler at "
                           f"tcp://{address.removeprefix('dask://')}: "), line
    assert not (tmp_path / "out").exists()


def test_a_fleet_runs_in_batches_and_a_death_in_one_blames_only_its_culprit(dask_cluster, tmp_path):
    """40 targets on 2 single-threaded workers run 5 to a task; the task holding the target
    that kills its worker has its other jobs run again alone, each delivered once."""
    from auditor.executors.cluster import batch_size

    assert batch_size(40, 2) == 5 and batch_size(3, 2) == 1 and batch_size(10_000, 2) == 25
    ok = [f"ok-{i:02d}" for i in range(39)]
    targets = [facts(name) for name in ok[:17]] + [facts("doomed", crash="always")]
    targets += [facts(name) for name in ok[17:]]
    a = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "c", now=NOW,
                  executor=dask_cluster)
    assert [u["target"] for u in a["unobserved"]] == ["doomed"]
    assert sorted(e["target"] for e in a["evidence"]) == ok
    assert sorted(t["target"] for t in a["probes"]) == sorted([*ok, "doomed"])
