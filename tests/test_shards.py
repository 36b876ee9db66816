"""Shards: a stable partition of the targets by a hash of their names."""

from __future__ import annotations

import pytest

from auditor import shards
from auditor.probe import Target
from auditor.shards import Shard, ShardError, parse, shard_of


def test_the_partition_is_fixed_by_the_name_alone() -> None:
    # sha256(name) mod N + 1: the same on every machine and run (pinned values)
    assert [shard_of("churn", n) for n in (2, 3, 5)] == [2, 3, 4]
    assert [shard_of("mlflow", n) for n in (2, 3, 5)] == [1, 3, 2]
    assert [shard_of("repo-0001", n) for n in (2, 3, 5)] == [2, 1, 3]
    assert shard_of("anything", 1) == 1


def test_every_target_is_in_exactly_one_shard_and_others_do_not_move() -> None:
    names = [f"repo-{i:04d}" for i in range(600)]
    targets = [Target(name=n, kind="git") for n in names]
    parts = [Shard(i, 3).select(targets) for i in (1, 2, 3)]
    assert sorted(t.name for part in parts for t in part) == sorted(names)
    assert all(150 <= len(part) <= 250 for part in parts)  # roughly even
    # order within a shard is the configuration's
    assert [t.name for t in parts[0]] == [n for n in names if shard_of(n, 3) == 1]
    # adding a target moves no other one
    before = {n: shard_of(n, 3) for n in names}
    assert {n: shard_of(n, 3) for n in [*names, "new-repo"] if n != "new-repo"} == before


@pytest.mark.parametrize(("spec", "expected"), [("1/3", Shard(1, 3)), ("3/3", Shard(3, 3)),
                                                (" 2 / 4 ", Shard(2, 4)), ("1/1", Shard(1, 1))])
def test_parse(spec: str, expected: Shard) -> None:
    assert parse(spec, environ={}) == expected
    assert str(expected) == spec.replace(" ", "")


@pytest.mark.parametrize(("spec", "message"), [
    ("0/3", "numbered from 1 to 3; for a 0-based index use --shard auto/3"),
    ("4/3", "numbered from 1 to 3"),
    ("1/0", "N must be at least 1"),
    ("2", "expected I/N"),
    ("a/b", "expected I/N"),
    ("-1/3", "expected I/N"),
])
def test_bad_shards_are_one_line(spec: str, message: str) -> None:
    with pytest.raises(ShardError) as err:
        parse(spec, environ={})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_auto_takes_a_kubernetes_indexed_job_completion_index() -> None:
    assert parse("auto/3", environ={"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 3)
    assert parse("auto/3", environ={"JOB_COMPLETION_INDEX": "2"}) == Shard(3, 3)
    with pytest.raises(ShardError, match="JOB_COMPLETION_INDEX is not set"):
        parse("auto/3", environ={})
    with pytest.raises(ShardError, match="beyond 3 shards"):
        parse("auto/3", environ={"JOB_COMPLETION_INDEX": "3"})
    with pytest.raises(ShardError, match="'x'"):
        parse("auto/3", environ={"JOB_COMPLETION_INDEX": "x"})


def test_stored_shards_round_trip() -> None:
    assert shards.from_text(None) is None
    assert shards.from_text("2/3") == Shard(2, 3)
    for bad in ("auto/3", "0/3", "x"):
        with pytest.raises(ShardError):
            shards.from_text(bad)
