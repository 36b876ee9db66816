"""The command line: reports written, exit codes as documented, fast start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from auditor.cli import cli

pytestmark = pytest.mark.usefixtures("test_plugin")

STAGE1 = """
targets:
  - name: svc
    kind: facts
    labels: {team: core}
    facts:
      - {signal: vcs.repository, strength: operating, locator: "git+file:///svc@abc#README.md:1"}
      - {signal: env.lockfile, locator: "git+file:///svc@abc#uv.lock:1"}
      - {signal: compute.workspace, locator: "git+file:///svc@abc#.devcontainer/devcontainer.json:1"}
"""


def audit(tmp_path, *args, config=STAGE1):
    (tmp_path / "audit.yaml").write_text(config)
    runner = CliRunner()
    return runner.invoke(cli, ["audit", "--config", str(tmp_path / "audit.yaml"),
                               "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
                               *args], catch_exceptions=False)


def test_audit_writes_json_and_markdown_and_prints_summary(tmp_path):
    result = audit(tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "assessment.json").read_text())
    org = next(p for p in data["placements"] if p["scope"]["kind"] == "org")
    assert org["stage"] == 1
    md = (tmp_path / "out" / "report.md").read_text()
    assert "uv.lock" in md and "To reach stage 2" in md
    assert "organisation" in result.output and "Deployment" in result.output


def test_fail_under_exits_1(tmp_path):
    assert audit(tmp_path, "--fail-under", "1").exit_code == 0
    result = audit(tmp_path, "--fail-under", "2")
    assert result.exit_code == 1


def test_strict_exits_3_when_a_source_was_not_observed(tmp_path):
    config = STAGE1 + "    fail: unreachable\n"
    assert audit(tmp_path, "-q", config=config).exit_code == 0
    assert audit(tmp_path, "-q", "--strict", config=config).exit_code == 3


def test_configuration_error_exits_2_with_one_line(tmp_path):
    result = audit(tmp_path, config="targets:\n  - {name: a, kind: facts, bogus: 1}\n")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "bogus: unknown key" in result.output


def test_unknown_format_and_framework_exit_2(tmp_path):
    assert audit(tmp_path, "--format", "pdf").exit_code == 2
    assert audit(tmp_path, "--framework", "nope").exit_code == 2


def test_other_frameworks_and_a_custom_rubric(tmp_path):
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("id: ours\ntitle: Our rubric\nstages:\n"
                      "  - {number: 1, name: Basics, requires: [version_control, reproducible_environment]}\n")
    result = audit(tmp_path, "-q", "--framework", str(rubric), "--framework", "google_mlops_levels")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert {(p["framework"], p["stage"]) for p in data["placements"] if p["scope"]["kind"] == "org"} == {
        ("ours", 1), ("google_mlops_levels", 0)}


def test_history_reports_changes_between_runs(tmp_path):
    audit(tmp_path, "-q")
    worse = STAGE1.replace("      - {signal: env.lockfile", "      - {signal: env.nothing")
    result = audit(tmp_path, config=worse)
    assert "Since the previous run:" in result.output
    assert "↓ target svc: stage 1 → 0" in result.output
    assert "↓ target svc: Reproducible environments met → unmet" in result.output
    assert len(list((tmp_path / "out" / "history").glob("*.json.gz"))) == 2


def test_history_is_compressed_and_an_earlier_plain_summary_still_counts(tmp_path):
    """A scheduled run keeps one summary a run; gzipped, a year of them stays small. A
    summary an earlier version wrote as plain JSON is still the previous run."""
    import gzip
    import json

    audit(tmp_path, "-q")
    history = tmp_path / "out" / "history"
    (newest,) = history.glob("*.json.gz")
    summary = json.loads(gzip.decompress(newest.read_bytes()))
    assert summary["capabilities"]["target:svc:reproducible_environment"] == "met"
    assert newest.stat().st_size < len(json.dumps(summary)) / 2
    # as an earlier version left it: plain JSON, newer than the gzipped one
    plain = history / "29990101T000000Z-00000000.json"
    summary["capabilities"]["target:svc:reproducible_environment"] = "unmet"
    plain.write_text(json.dumps(summary))
    newest.unlink()
    result = audit(tmp_path)
    assert "↑ target svc: Reproducible environments unmet → met" in result.output


def test_changes_are_recorded_in_the_assessment_under_quiet(tmp_path):
    """The README's cron recipe runs --quiet: changes must survive in the files."""
    first = audit(tmp_path, "-q", "-f", "json", "-f", "markdown", "-f", "prometheus")
    assert first.output == ""
    before = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert before["changes"] == {"previous_run": None, "placements": [], "capabilities": []}
    worse = STAGE1.replace("      - {signal: env.lockfile", "      - {signal: env.nothing")
    assert audit(tmp_path, "-q", "-f", "json", "-f", "markdown", "-f", "prometheus",
                 config=worse).output == ""
    after = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert after["changes"]["previous_run"]["id"] == before["run"]["id"]
    assert {"framework": "seven_stages", "scope": {"kind": "target", "name": "svc"},
            "from": 1, "to": 0} in after["changes"]["placements"]
    assert {"scope": {"kind": "target", "name": "svc"}, "capability": "reproducible_environment",
            "title": "Reproducible environments", "from": "met", "to": "unmet"} \
        in after["changes"]["capabilities"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Changes since the previous run" in md and "↓ target svc: stage 1 → 0" in md
    prom = (tmp_path / "out" / "mlops_audit.prom").read_text()
    assert 'mlops_audit_stage_change{framework="seven_stages",scope_kind="target",scope="svc"} -1' in prom


def test_reports_are_readable_by_others_and_stale_ones_are_removed(tmp_path):
    """node-exporter and web servers run as other users; a format dropped from the command
    leaves no report from an earlier run beside the fresh ones."""
    import os

    old = os.umask(0o022)
    try:
        assert audit(tmp_path, "-q", "-f", "json", "-f", "csv", "-f", "prometheus").exit_code == 0
        out = tmp_path / "out"
        assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
            "assessment.json", "capabilities.csv", "mlops_audit.prom", "history"}
        for name in ("assessment.json", "capabilities.csv", "mlops_audit.prom"):
            assert (out / name).stat().st_mode & 0o777 == 0o644, name
        (out / "notes.txt").write_text("mine")
        assert audit(tmp_path, "-q", "-f", "markdown").exit_code == 0
        assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
            "report.md", "notes.txt", "history"}
        os.umask(0o027)
        assert audit(tmp_path, "-q", "-f", "markdown").exit_code == 0
        assert (out / "report.md").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_audit_without_arguments_uses_audit_yaml_here(tmp_path, monkeypatch):
    (tmp_path / "audit.yaml").write_text(STAGE1)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["audit", "--out", "out", "--cache-dir", "cache", "-f", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "using audit.yaml" in result.output
    data = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert data["run"]["config"] == "audit.yaml" and data["targets"][0]["name"] == "svc"


def test_fail_under_beyond_the_last_stage_is_a_usage_error(tmp_path):
    result = audit(tmp_path, "-q", "--fail-under", "8")
    assert result.exit_code == 2
    assert "--fail-under 8: seven_stages has no stage above 7" in result.output
    assert audit(tmp_path, "-q", "--fail-under", "7").exit_code == 1
    assert audit(tmp_path, "-q", "--framework", "google_mlops_levels", "--fail-under", "3").exit_code == 2


def test_missing_framework_file_exit_2_says_not_found(tmp_path):
    result = audit(tmp_path, "-q", "--framework", str(tmp_path / "ours.yaml"))
    assert result.exit_code == 2 and "framework file not found" in result.output


def test_expired_waiver_is_reported_and_not_applied_and_team_waiver_reaches_its_targets(tmp_path):
    config = STAGE1 + """waivers:
  - {capability: job_scheduling, scope: "team:core", reason: nightly by hand, expires: 2099-01-01}
  - {capability: experiment_tracking, scope: "team:core", reason: spreadsheet, expires: 2001-01-01}
"""
    assert audit(tmp_path, "-q", config=config).exit_code == 0
    data = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert [w["status"] for w in data["waivers"]] == ["active", "expired"]
    svc = {c["id"]: c for c in data["capabilities"] if c["scope"] == {"kind": "target", "name": "svc"}}
    assert svc["job_scheduling"]["waiver"]["scope"] == "team:core"
    assert "waiver" not in svc["experiment_tracking"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "expired 2001-01-01, not applied" in md


def test_explain_init_frameworks_probes(tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["explain", "model_registry"]).output
    assert "registry.model_version" in out and "seven_stages stage 5" in out
    assert runner.invoke(cli, ["explain", "nope"]).exit_code == 2
    path = tmp_path / "audit.yaml"
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 0
    assert "targets:" in path.read_text()
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 2  # no overwrite
    assert "Inflection point" in runner.invoke(cli, ["frameworks"]).output
    assert "facts" in runner.invoke(cli, ["probes"]).output


def test_sample_config_from_init_is_valid(tmp_path):
    import yaml

    runner = CliRunner()
    path = tmp_path / "audit.yaml"
    runner.invoke(cli, ["init", str(path)])
    data = yaml.safe_load(path.read_text())
    assert data["targets"][0]["kind"] == "git"


def test_help_starts_without_heavy_imports():
    code = ("import sys, auditor.cli; heavy = [m for m in ('mlflow', 'boto3', 'kubernetes', 'git', "
            "'pydantic', 'rich', 'yaml', 'jinja2') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    help_out = subprocess.run([sys.executable, "-m", "auditor", "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "audit" in help_out.stdout


def test_progress_bar_on_a_terminal(tmp_path):
    import io

    from rich.console import Console

    from auditor.cli import _run_with_progress
    from auditor.config import AuditConfig, build_target

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    cfg = AuditConfig(targets=[build_target({"name": f"t{i}", "kind": "facts"}) for i in range(3)])
    assessment = _run_with_progress(cfg, console, str(tmp_path), 2, ())
    assert len(assessment["targets"]) == 3
    assert "auditing" in out.getvalue() and "3/3" in out.getvalue()


def test_unwritable_output_folder_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the reports folder should go")
    (tmp_path / "audit.yaml").write_text(STAGE1)
    result = CliRunner().invoke(cli, ["audit", "-q", "-c", str(tmp_path / "audit.yaml"),
                                      "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "cannot write reports to" in result.output and result.output.strip().count("\n") == 0


def test_provisional_stage_is_starred_with_its_assumptions_and_strict_stops_there(tmp_path):
    """A real repository with no devcontainer: self-service compute cannot be seen from git."""
    import git

    from tests.repos import make_stage2_repo

    path = make_stage2_repo(tmp_path / "svc")
    repo = git.Repo(path)
    repo.index.remove([".devcontainer/devcontainer.json"], working_tree=True)
    repo.index.commit("no devcontainer")
    repo.close()
    runner = CliRunner()
    base = ["audit", str(path), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"),
            "--no-history"]
    out = " ".join(runner.invoke(cli, base, catch_exceptions=False).output.split())
    assert "│ 2* │" in out
    assert "* provisional" in out
    assert "Self-service compute (stage 1): not observable from git alone — add a kubernetes or aws " \
           "target to settle it" in out
    md = (tmp_path / "out" / "report.md").read_text()
    assert "**2\\***" in md and "Provisional (stage 0 if nothing is assumed)" in md

    strict = runner.invoke(cli, [*base, "--strict"], catch_exceptions=False, terminal_width=200)
    assert strict.exit_code == 0, strict.output  # every source answered: complete, not below
    data = json.loads((tmp_path / "out" / "assessment.json").read_text())
    (placed,) = [p for p in data["placements"] if p["scope"]["kind"] == "target"]
    assert (placed["stage"], placed["provisional"], data["run"]["strict"]) == (0, False, True)
    assert [b["capability"] for b in placed["blockers"]] == ["self_service_compute"]
    explain = runner.invoke(cli, ["explain", "self_service_compute"]).output
    assert "Level: platform" in explain and "kubernetes, aws" in explain


def test_console_shows_every_framework_with_titles_in_full(tmp_path):
    result = audit(tmp_path, "--no-history", "--framework", "seven_stages", "--framework",
                   "google_mlops_levels")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Seven stages of MLOps maturity" in out and "Google Cloud MLOps levels (0-2)" in out
    flat = " ".join(out.replace("│", " ").split())
    assert "Job scheduling" in flat and "job_scheduling" not in out
    assert "…" not in out  # folded onto more lines, never cut


GC_WATCH = r"""
import gc, sys
from auditor import audit
seen = {}
def watch(name, fn):
    def wrapper(*args, **kwargs):
        seen[name] = gc.isenabled()
        return fn(*args, **kwargs)
    return wrapper
audit.assess = watch("assess", audit.assess)
audit.run_probes = watch("probes", audit.run_probes)
from auditor import startup
probe_started = startup.release_gc
def released():
    probe_started()
    seen["probing"] = gc.isenabled()
startup.release_gc = released
from auditor.executors import local  # a forked worker notes its collector's state per job
run_job, notes = local.run_job, sys.argv[3] + ".workers"
def noted(job):
    with open(notes, "a") as fh:
        fh.write(f"{gc.isenabled()}\n")
    return run_job(job)
local.run_job = noted
repos = sys.argv[2].split(",")
if sys.argv[1] == "library":
    from auditor.audit import run_audit
    from auditor.config import AuditConfig, targets_from_arguments
    run_audit(AuditConfig(targets=targets_from_arguments(repos)), cache_dir=sys.argv[3], jobs=2,
              executor="processes")
    seen["after"] = gc.isenabled()
    print(seen)
else:
    import atexit
    atexit.register(lambda: print(seen, flush=True))
    from auditor import cli
    sys.argv = ["mlops-auditor", "audit", *repos, "--cache-dir", sys.argv[3], "-o",
                sys.argv[3] + "/out", "-q", "--no-history", "-f", "json", "--jobs", "2",
                "--executor", "processes"]
    cli.main()
"""


def test_the_command_holds_the_collector_outside_its_probes_and_a_library_caller_keeps_its_own(tmp_path):
    """The mlops-auditor process turns the cyclic collector off while it starts and again once
    its probes are done (building the assessment makes only long-lived data, and full
    collections over a fleet's assessment cost as much as the assessment); probes run with
    it on, in forked workers too, though the parent holds it while it receives their
    outcomes. A program that calls the library keeps its collector as it was."""
    from tests.repos import make_stage0_repo, make_stage2_repo

    repo = f"{make_stage2_repo(tmp_path / 'repo')},{make_stage0_repo(tmp_path / 'other')}"
    states = {}
    for mode in ("command", "library"):
        out = subprocess.run([sys.executable, "-c", GC_WATCH, mode, str(repo), str(tmp_path / mode)],
                             capture_output=True, text=True, check=True)
        states[mode] = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (our own dict repr)
    assert states["command"] == {"probes": False, "probing": True, "assess": False}
    assert states["library"] == {"probes": True, "probing": True, "assess": True, "after": True}
    for mode in ("command", "library"):  # each of the two jobs ran in a worker, collector on
        assert (tmp_path / f"{mode}.workers").read_text().split() == ["True", "True"], mode
