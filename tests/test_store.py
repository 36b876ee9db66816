"""Evidence files: written per target as it finishes, read back exactly, refused in one line
when damaged; shards reassembled or reported missing; holdings resolve links later."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor import audit, store
from auditor.cli import cli
from auditor.config import AuditConfig
from auditor.evidence import Evidence, Holdings, KeyIndex, Strength, Unobserved
from auditor.probe import Probe, ProbeContext, Target
from auditor.redact import register_secret
from auditor.shards import shard_of
from tests.repos import make_stage0_repo, make_stage2_repo
from tests.support import traced_peak
from tests.test_placements import normalise

SCHEMA_DIR = Path(audit.__file__).parent / "schema"


def cli_run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def evidence_lines(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {p.name: [json.loads(line) for line in gzip.open(p, "rt", encoding="utf-8")]
            for p in sorted(folder.glob("*.jsonl.gz"))}


def names_in_shards(count: int, want: dict[int, int], prefix: str = "repo") -> list[str]:
    """Target names: ``want[shard]`` of them in each shard (names fixed by the hash)."""
    out, i = [], 0
    need = dict(want)
    while any(need.values()):
        name = f"{prefix}-{i}"
        if need.get(shard_of(name, count)):
            need[shard_of(name, count)] -= 1
            out.append(name)
        i += 1
    return out


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """Four small repositories in two teams and a configuration listing them."""
    names = names_in_shards(3, {1: 2, 2: 1, 3: 1})
    for i, name in enumerate(names):
        (make_stage2_repo if i % 2 else make_stage0_repo)(tmp_path / name)
    (tmp_path / "audit.yaml").write_text("version: 1\ntargets:\n" + "".join(
        f"  - {{name: {n}, kind: git, path: {n}, labels: {{team: {'a' if i < 2 else 'b'}}}}}\n"
        for i, n in enumerate(names))
        + "waivers:\n  - {capability: feature_store, scope: 'team:a', reason: tabular, expires: 2099-01-01}\n")
    return tmp_path


# -- the records ----------------------------------------------------------------------------

def test_evidence_and_unobserved_round_trip_exactly() -> None:
    register_secret("sk-live-round-trip-0001")
    ev = Evidence(signal="tracking.runs_recent", strength=Strength.OPERATING, target="mlflow",
                  locator="mlflow://user:pw@host/experiments/1",
                  attributes={"tags": {"b", "a"}, "nested": {"k": ("x", 1.5, None)}, "ü": "café",
                              "token": "sk-live-round-trip-0001", "links_to": ["commit:" + "a" * 40]},
                  excerpt="é" * 500)
    back = Evidence.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert back == ev and back.id == ev.id == ev.make_id()
    assert "sk-live" not in json.dumps(ev.to_dict()) and "pw@" not in ev.locator
    u = Unobserved("mlflow", "mlflow", "registry", "403 on /models\n(line two)", ("registry",))
    assert Unobserved.from_dict(json.loads(json.dumps(u.to_dict()))) == u



def test_holdings_give_the_evidence_the_second_pass_gives(tmp_path: Path) -> None:
    from probes.git import GitProbe
    from probes.git.settings import GitSettings

    repo = make_stage2_repo(tmp_path / "repo")
    import git

    shas = [c.hexsha for c in git.Repo(repo).iter_commits()]
    target = Target(name="repo", kind="git", settings=GitSettings(path=str(repo)))
    keys = [f"commit:{shas[0].upper()}", f"commit:{shas[1]}", "commit:" + "0" * 40, "image:x/y"]
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", holdings=True)
    [held] = [h for h in GitProbe().collect(target, ctx) if isinstance(h, Holdings)]
    assert held.items == frozenset(shas) and not held.truncated
    asked = list(GitProbe().resolve_links(target, ProbeContext(probe="git", cache_dir=tmp_path), keys))
    from_holdings = list(held.resolve(KeyIndex(keys)))
    assert sorted(e.id for e in asked) == sorted(e.id for e in from_holdings)
    assert len(asked) == 2
    by_id = {e.id: e for e in asked}
    for e in from_holdings:
        mine, theirs = e.to_dict(), by_id[e.id].to_dict()
        mine.pop("observed_at"), theirs.pop("observed_at")
        assert mine == theirs
    # round trip, and a plain audit (no holdings asked) lists nothing
    assert Holdings.from_dict(json.loads(json.dumps(held.to_dict()))) == held
    plain = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=tmp_path)))
    assert not [h for h in plain if isinstance(h, Holdings)]


def test_holdings_are_capped_keeping_the_newest(tmp_path: Path, monkeypatch) -> None:
    import git

    import probes.git as gitprobe
    from probes.git.settings import GitSettings

    repo = make_stage2_repo(tmp_path / "repo")
    newest = git.Repo(repo).head.commit.hexsha
    monkeypatch.setattr(gitprobe, "MAX_HELD_COMMITS", 1)
    target = Target(name="repo", kind="git", settings=GitSettings(path=str(repo)))
    ctx = ProbeContext(probe="git", cache_dir=tmp_path / "cache", holdings=True)
    [held] = [h for h in gitprobe.GitProbe().collect(target, ctx) if isinstance(h, Holdings)]
    assert held.items == {newest} and held.truncated


# -- writing -----------------------------------------------------------------------------

def test_collect_writes_one_valid_file_per_target_and_a_manifest(estate: Path) -> None:
    out = estate / "evidence"
    result = cli_run("collect", "--config", str(estate / "audit.yaml"), "--out", str(out),
                     "--cache-dir", str(estate / "cache"), "-q")
    assert result.exit_code == 0, result.output
    line_schema = json.loads((SCHEMA_DIR / "evidence-file.schema.json").read_text())
    manifest_schema = json.loads((SCHEMA_DIR / "evidence-manifest.schema.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    jsonschema.validate(manifest, manifest_schema, format_checker=jsonschema.FormatChecker())
    files = evidence_lines(out)
    assert sorted(files) == sorted(t["file"] for t in manifest["targets"])
    assert [t["name"] for t in manifest["targets"]] == [t[0] for t in manifest["fleet"]["targets"]]
    for name, lines in files.items():
        for line in lines:
            jsonschema.validate(line, line_schema, format_checker=jsonschema.FormatChecker())
        head = lines[0]
        assert head["format"] == "mlops-auditor-evidence" and head["version"] == 1
        assert head["tool_version"] and head["catalog_version"].startswith("sha256:")
        assert head["run_id"] == manifest["run_id"] and head["shard"] is None
        assert name == store.file_name(head["target"]["name"])
        assert lines[1]["type"] == "holdings"  # right after the header: read again cheaply
        assert [r["type"] for r in lines[-1:]] == ["timing"]
        entry = next(t for t in manifest["targets"] if t["file"] == name)
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert entry["evidence"] == sum(r.get("type") == "evidence" for r in lines)
    assert manifest["waivers"][0]["capability"] == "feature_store"


def test_files_get_the_umask_and_no_temporary_file_is_left(estate: Path) -> None:
    old = os.umask(0o027)
    try:
        assert cli_run("collect", "--config", str(estate / "audit.yaml"), "--out",
                       str(estate / "ev"), "--cache-dir", str(estate / "cache"), "-q").exit_code == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (estate / "ev").iterdir()}
    assert set(modes.values()) == {0o640}, modes
    assert not [n for n in modes if n.endswith(".tmp")]


def test_no_secret_reaches_any_file(tmp_path: Path, monkeypatch) -> None:
    token = "ghp_SecretToken0123456789abcdefXYZ"
    monkeypatch.setenv("GIT_TOKEN", token)
    repo = make_stage0_repo(tmp_path / "repo")
    (tmp_path / "audit.yaml").write_text(
        "targets:\n"
        "  - {name: local, kind: git, path: repo}\n"
        "  - {name: remote, kind: git, url: 'https://${GIT_TOKEN}@127.0.0.1:9/x.git', timeout: 20}\n"
        "waivers:\n  - {capability: feature_store, scope: org, reason: 'asked by ${GIT_TOKEN}'}\n")
    assert repo.exists()
    out = tmp_path / "ev"
    assert cli_run("collect", "--config", str(tmp_path / "audit.yaml"), "--out", str(out),
                   "--cache-dir", str(tmp_path / "cache"), "-q").exit_code == 0
    written = b"".join(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
                       for p in out.iterdir())
    assert token.encode() not in written and b"ghp_" not in written
    assert b"remote" in written and b"127.0.0.1" in written  # the target is there, redacted


def test_a_collect_run_removes_the_files_of_targets_it_no_longer_has(estate: Path) -> None:
    out = estate / "ev"
    args = ["--out", str(out), "--cache-dir", str(estate / "cache"), "-q"]
    assert cli_run("collect", "--config", str(estate / "audit.yaml"), *args).exit_code == 0
    assert len(list(out.glob("*.jsonl.gz"))) == 4
    text = (estate / "audit.yaml").read_text().splitlines()
    (estate / "small.yaml").write_text("\n".join(text[:3]) + "\n")  # the first target only
    assert cli_run("collect", "--config", str(estate / "small.yaml"), *args).exit_code == 0
    assert len(list(out.glob("*.jsonl.gz"))) == 1
    (out / "notes.txt").write_text("mine")  # what collect did not write stays
    assert cli_run("collect", "--config", str(estate / "small.yaml"), *args).exit_code == 0
    assert (out / "notes.txt").exists()


class BulkProbe(Probe):
    """Many large facts per target, made up as it goes (nothing of them in its settings)."""

    kind = "bulk"
    signals = ("tool",)

    def collect(self, target, ctx):
        for i in range(300):
            yield Evidence(signal="tool.experiment_tracking", strength=Strength.CONFIGURED,
                           target=target.name, locator=f"bulk://{target.name}/{i}",
                           attributes={"blob": f"{target.name}-{i}-" + "x" * 2000})


class Holding:
    """A sink that keeps every target's facts, as collecting into memory would."""

    def __init__(self) -> None:
        self.facts: list[Any] = []

    def add(self, facts: Any) -> None:
        self.facts.append(facts)

    def extend(self, target: str, evidence: list[Any], unobserved: list[Any]) -> None:
        pass


def test_collect_streams_to_disk_instead_of_holding_the_fleet(tmp_path: Path, monkeypatch) -> None:
    """60 targets of ~0.7 MB of evidence each: held, 40+ MB; streamed to evidence files or
    spooled for ``audit``'s assessment, a few targets' worth."""
    from auditor import registry
    from auditor.spool import FactSpool

    monkeypatch.setattr(registry, "probe_for", lambda kind: BulkProbe() if kind == "bulk" else None)
    cfg = AuditConfig(targets=[Target(name=f"t{i:03d}", kind="bulk") for i in range(60)])

    def peak(sink) -> int:
        return traced_peak(lambda: audit.collect(cfg, sink, cache_dir=tmp_path / "cache", jobs=2))

    writer = store.EvidenceWriter(tmp_path / "ev", fleet=cfg.targets, shard=None,
                                  now=datetime.now(UTC), config_source="test", jobs=2,
                                  policy={}, waivers=[], settings={})
    streamed = peak(writer)
    spool = FactSpool()
    spooled = peak(spool)
    held = peak(Holding())
    assert held > 40 << 20
    assert streamed < held / 5, (streamed >> 20, held >> 20)
    assert spooled < held / 5, (spooled >> 20, held >> 20)
    assert len(spool) == 60 and len(spool.evidence("t007")) == len(spool.evidence("t059")) > 0
    assert len(list((tmp_path / "ev").glob("*.jsonl.gz"))) == 60


# -- reading -----------------------------------------------------------------------------

def _collect(estate: Path, out: Path, *extra: str) -> None:
    result = cli_run("collect", "--config", str(estate / "audit.yaml"), "--out", str(out),
                     "--cache-dir", str(estate / "cache"), "-q", *extra)
    assert result.exit_code == 0, result.output


def _assess(*args: str) -> Any:
    return CliRunner().invoke(cli, ["assess", "-q", "--no-history", *args], catch_exceptions=False)


def test_collect_and_assess_equal_audit(estate: Path) -> None:
    _collect(estate, estate / "ev")
    assert _assess(str(estate / "ev"), "--out", str(estate / "a")).exit_code == 0
    assert cli_run("audit", "--config", str(estate / "audit.yaml"), "--out", str(estate / "b"),
                   "--cache-dir", str(estate / "cache"), "-q", "--no-history").exit_code == 0
    a = json.loads((estate / "a" / "assessment.json").read_text())
    b = json.loads((estate / "b" / "assessment.json").read_text())
    assert normalise(a, estate) == normalise(b, estate)
    assert a["waivers"] and a["run"]["collected"]["runs"][0]["shard"] is None
    assert a["run"]["config"] == str(estate / "audit.yaml")


def test_shards_reassemble_and_a_missing_shard_is_one_line(estate: Path) -> None:
    for i in (1, 2, 3):
        _collect(estate, estate / f"shard-{i}", "--shard", f"{i}/3")
    manifests = [json.loads((estate / f"shard-{i}" / f"manifest-{i}-of-3.json").read_text())
                 for i in (1, 2, 3)]
    assert [len(m["targets"]) for m in manifests] == [2, 1, 1]
    whole = _assess(*(str(estate / f"shard-{i}") for i in (1, 2, 3)), "--out", str(estate / "a"))
    assert whole.exit_code == 0, whole.output
    # a parent folder of shard folders works too
    assert _assess(str(estate), "--out", str(estate / "b")).exit_code == 0
    a = json.loads((estate / "a" / "assessment.json").read_text())
    b = json.loads((estate / "b" / "assessment.json").read_text())
    assert normalise(a, estate) == normalise(b, estate)
    assert [t["name"] for t in a["targets"]] == [t[0] for t in manifests[0]["fleet"]["targets"]]

    missing = _assess(str(estate / "shard-1"), str(estate / "shard-3"), "--out", str(estate / "c"))
    assert missing.exit_code == 2
    [line] = missing.output.strip().splitlines()
    assert "shard 2/3" in line and "missing" in line and "--allow-missing-shards" in line
    assert not (estate / "c").exists()

    allowed = _assess(str(estate / "shard-1"), str(estate / "shard-3"), "--out", str(estate / "c"),
                      "--allow-missing-shards")
    assert allowed.exit_code == 0, allowed.output
    c = json.loads((estate / "c" / "assessment.json").read_text())
    lost = manifests[1]["targets"][0]["name"]
    assert c["partial"] is True and c["run"]["collected"]["missing_shards"] == ["2/3"]
    assert next(t for t in c["targets"] if t["name"] == lost)["status"] == "error"
    assert any(u["target"] == lost and "shard 2/3 is missing" in u["reason"] for u in c["unobserved"])

    twice = _assess(str(estate / "shard-1"), str(estate / "shard-2"), str(estate / "shard-3"),
                    str(estate / "shard-2"), "--out", str(estate / "d"))
    assert twice.exit_code == 0  # the same folder given twice is read once
    _collect(estate, estate / "shard-2-again", "--shard", "2/3")
    dup = _assess(str(estate / "shard-1"), str(estate / "shard-2"), str(estate / "shard-3"),
                  str(estate / "shard-2-again"), "--out", str(estate / "d"))
    assert dup.exit_code == 2 and "shard 2/3 appears twice" in dup.output


def test_an_empty_shard_still_writes_its_manifest_and_a_changed_fleet_is_named(estate: Path) -> None:
    names = [line.split("name: ")[1].split(",")[0] for line in
             (estate / "audit.yaml").read_text().splitlines() if "name: " in line]
    empty = next(i for i in range(1, 8) if all(shard_of(n, 7) != i for n in names))
    _collect(estate, estate / "empty", "--shard", f"{empty}/7")
    manifest = json.loads((estate / "empty" / f"manifest-{empty}-of-7.json").read_text())
    assert manifest["targets"] == [] and manifest["fleet"]["count"] == 4
    assert not list((estate / "empty").glob("*.jsonl.gz"))

    # shard 2 collected after a target was added: a different fleet, said so
    _collect(estate, estate / "s1", "--shard", "1/3")
    _collect(estate, estate / "s3", "--shard", "3/3")
    make_stage0_repo(estate / "late")
    text = (estate / "audit.yaml").read_text().replace(
        "waivers:", "  - {name: late, kind: git, path: late}\nwaivers:")
    (estate / "audit.yaml").write_text(text)
    _collect(estate, estate / "s2", "--shard", "2/3")
    result = _assess(str(estate / "s1"), str(estate / "s2"), str(estate / "s3"), "--out", str(estate / "r"))
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "shard 2/3" in line and "different target list" in line


def test_assess_config_relabels_teams_and_replaces_waivers_without_reading_targets(estate: Path) -> None:
    _collect(estate, estate / "ev")
    text = (estate / "audit.yaml").read_text().split("waivers:")[0]
    # a target setting naming an unset variable: assess never reads target settings
    other = (text.replace("team: b", "team: c") + "  - {name: extra, kind: git, url: 'https://${NOT_SET_ANYWHERE}@x/y.git'}\n"
             + "waivers:\n  - {capability: model_serving, scope: 'team:c', reason: later, expires: 2099-01-01}\n")
    (estate / "other.yaml").write_text(other)
    result = _assess(str(estate / "ev"), "--config", str(estate / "other.yaml"), "--out", str(estate / "a"))
    assert result.exit_code == 0, result.output
    a = json.loads((estate / "a" / "assessment.json").read_text())
    assert {t["labels"]["team"] for t in a["targets"]} == {"a", "c"}
    assert [w["capability"] for w in a["waivers"]] == ["model_serving"]
    # a waiver naming a team the evidence does not have: one line with file and line
    (estate / "bad.yaml").write_text("waivers:\n  - {capability: model_serving, scope: 'team:zz', reason: x}\n")
    bad = _assess(str(estate / "ev"), "--config", str(estate / "bad.yaml"), "--out", str(estate / "b"))
    assert bad.exit_code == 2
    [line] = bad.output.strip().splitlines()
    assert line.startswith("mlops-auditor: ") and "bad.yaml:2" in line and "'zz'" in line


def test_runs_of_different_configurations_are_assessed_together(estate: Path) -> None:
    lines = (estate / "audit.yaml").read_text().split("waivers:")[0].splitlines()
    (estate / "one.yaml").write_text("\n".join(lines[:4]) + "\n")
    (estate / "two.yaml").write_text("\n".join(lines[:2] + lines[4:]) + "\n")
    for n in ("one", "two"):
        result = cli_run("collect", "--config", str(estate / f"{n}.yaml"), "--out", str(estate / n),
                         "--cache-dir", str(estate / "cache"), "-q")
        assert result.exit_code == 0
    both = _assess(str(estate / "one"), str(estate / "two"), "--out", str(estate / "a"))
    assert both.exit_code == 0, both.output
    a = json.loads((estate / "a" / "assessment.json").read_text())
    assert len(a["targets"]) == 4
    # the same target in two runs cannot be told apart: refused
    again = _assess(str(estate / "one"), str(estate / "two"), "--out", str(estate / "b"))
    _collect(estate, estate / "all")
    clash = _assess(str(estate / "one"), str(estate / "all"), "--out", str(estate / "b"))
    assert again.exit_code == 0 and clash.exit_code == 2 and "collected twice" in clash.output


@pytest.mark.parametrize("damage", ["truncate", "garbage", "bad-json", "bad-record", "missing",
                                    "manifest", "newer", "empty-dir"])
def test_damaged_evidence_is_one_clear_line(estate: Path, damage: str) -> None:
    out = estate / "ev"
    _collect(estate, out)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    victim = out / manifest["targets"][1]["file"]
    expect = victim.name

    def rewrite(data: bytes) -> None:
        """Replace the file and vouch for it in the manifest: only its content is wrong."""
        victim.write_bytes(data)
        manifest["targets"][1]["sha256"] = hashlib.sha256(data).hexdigest()
        manifest_path.write_text(json.dumps(manifest))

    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-20])
        expect = "truncated or changed after collect"
    elif damage == "garbage":
        rewrite(b"\x1f\x8b" + os.urandom(64))
    elif damage == "bad-json":
        rewrite(gzip.compress(gzip.decompress(victim.read_bytes()) + b"{not json\n"))
        expect = "not JSON"
    elif damage == "bad-record":
        rewrite(gzip.compress(gzip.decompress(victim.read_bytes()) + b'{"type":"evidence","id":"x"}\n'))
        expect = "lacks 'signal'"
    elif damage == "missing":
        victim.unlink()
        expect = "missing"
    elif damage == "manifest":
        manifest_path.write_text('{"format": "mlops-auditor-evidence-manifest", "vers')
        expect = "not a manifest"
    elif damage == "newer":
        manifest["version"] = 99
        manifest_path.write_text(json.dumps(manifest))
        expect = "newer mlops-auditor"
    elif damage == "empty-dir":
        out = estate / "nothing"
        out.mkdir()
        expect = "no evidence here"
    proc = subprocess.run([sys.executable, "-m", "auditor", "assess", str(out), "--out",
                           str(estate / "reports"), "-q", "--no-history"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("mlops-auditor: ") and expect in line, line
    assert not (estate / "reports").exists()  # nothing written, nothing lost
