"""JUnit, SARIF, CSV and Prometheus exposition outputs, checked with the tools that read them."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from reports.csv_report import CsvReport
from reports.junit import JunitReport
from reports.prometheus_exposition import PrometheusReport
from reports.sarif import SarifReport

pytestmark = pytest.mark.usefixtures("test_plugin")


@pytest.fixture
def assessment(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@1#README.md:1"},
             {"signal": "env.pinned_requirements", "locator": "git+file:///r@1#requirements.txt:3",
              "attributes": {"fully_pinned": False, "unpinned": 2}}]
    targets = [build_target({"name": "svc", "kind": "facts", "facts": facts, "labels": {"team": "core"}}),
               build_target({"name": "gone", "kind": "facts", "fail": "unreachable"})]
    return run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)


def test_junit_counts_failures_and_skips(assessment):
    root = ET.fromstring(JunitReport().render(assessment))
    suites = {s.get("name").split(":")[0]: s for s in root.iter("testsuite")}
    svc = suites["target svc"]
    n_met = sum(1 for c in assessment["capabilities"] if c["scope"]["name"] == "svc"
                and (c["status"] == "met" or "waiver" in c)
                and c["id"] in {r for s in assessment["frameworks"][0]["stages"] for r in s["requires"]})
    assert int(svc.get("tests")) == 31 and int(svc.get("failures")) == 31 - n_met
    assert int(suites["target gone"].get("skipped")) > 0  # unobserved → skipped, not failed


def test_sarif_points_partial_capability_at_its_file(assessment):
    doc = json.loads(SarifReport().render(assessment))
    (run,) = [r for r in doc["runs"] if r["properties"]["target"] == "svc"]
    env = next(r for r in run["results"] if r["ruleId"] == "reproducible_environment")
    assert env["level"] == "note"
    assert env["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "requirements.txt"
    assert env["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_csv_has_a_row_per_scope_and_capability(assessment):
    rows = list(csv.DictReader(io.StringIO(CsvReport().render(assessment))))
    assert len(rows) == len(assessment["capabilities"])  # one framework: each capability once
    row = next(r for r in rows if r["scope"] == "svc" and r["capability"] == "version_control")
    assert row["status"] == "met" and "README.md:1" in row["locators"]


def promtool() -> str:
    """promtool ships with Debian's prometheus (.ci/run installs it); missing is a failure."""
    here = Path(sys.executable).parent / "promtool"
    found = str(here) if here.exists() else shutil.which("promtool")
    if not found:
        pytest.fail("promtool not found next to the interpreter or on PATH: install Debian's prometheus")
    return found


def test_prometheus_exposition_passes_promtool(assessment, tmp_path):
    text = PrometheusReport().render(assessment)
    check = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'mlops_audit_stage{framework="seven_stages",scope_kind="org",scope="organisation"} 0' in text
    assert "mlops_audit_partial 1" in text


def series(text):
    """{series name with labels: value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_prometheus_series_are_stable_when_statuses_change(assessment):
    before = series(PrometheusReport().render(assessment))
    changed = json.loads(json.dumps(assessment.to_dict()))
    for c in changed["capabilities"]:
        c["status"] = {"met": "unmet", "unmet": "partial", "partial": "unknown", "unknown": "met"}[c["status"]]
    after = series(PrometheusReport().render(changed))
    assert set(before) == set(after)  # a status is a value, never a label
    key = 'mlops_audit_capability_status{scope_kind="target",scope="svc",capability="version_control"}'
    assert before[key] == 2 and after[key] == 0
    gone = 'mlops_audit_capability_status{scope_kind="target",scope="gone",capability="version_control"}'
    assert math.isnan(before[gone])  # unknown: not observed, not accused
    started = assessment["run"]["started_at"]
    from datetime import datetime

    expected = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    assert before["mlops_audit_last_run_timestamp_seconds"] == pytest.approx(
        expected + assessment["run"]["duration_seconds"])


def test_junit_and_csv_cover_every_framework(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@1#README.md:1"}]
    target = build_target({"name": "svc", "kind": "facts", "facts": facts})
    doc = run_audit(AuditConfig(targets=[target]), cache_dir=tmp_path,
                    frameworks=["seven_stages", "google_mlops_levels"])
    root = ET.fromstring(JunitReport().render(doc))
    names = [s.get("name") for s in root.iter("testsuite")]
    assert any(n.startswith("seven_stages target svc") for n in names)
    assert any(n.startswith("google_mlops_levels target svc") for n in names)
    rows = list(csv.DictReader(io.StringIO(CsvReport().render(doc))))
    assert {r["framework"] for r in rows} >= {"seven_stages", "google_mlops_levels"}
    assert "previous_status" in rows[0]


def test_junit_fails_a_regression_since_the_previous_run(assessment):
    changed = json.loads(json.dumps(assessment.to_dict()))
    changed["changes"] = {"previous_run": {"id": "x", "started_at": "2026-01-01T00:00:00Z"},
                          "placements": [{"framework": "seven_stages", "scope": {"kind": "target", "name": "svc"},
                                          "from": 2, "to": 1}],
                          "capabilities": [{"scope": {"kind": "target", "name": "svc"},
                                            "capability": "model_serving", "title": "Model serving",
                                            "from": "unmet", "to": "met"}]}
    root = ET.fromstring(JunitReport().render(changed))
    (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "changes since the previous run"]
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["↓ target svc: stage 2 → 1"]
    rows = list(csv.DictReader(io.StringIO(CsvReport().render(changed))))
    serving = next(r for r in rows if r["scope"] == "svc" and r["capability"] == "model_serving")
    assert serving["previous_status"] == "unmet"


def test_html_report_escapes_content_and_lists_blockers(tmp_path):
    from reports.html import HtmlReport

    facts = [{"signal": "vcs.repository", "strength": "operating",
              "locator": "git+file:///r@1#<script>alert(1)</script>.py:1"}]
    target = build_target({"name": "svc", "kind": "facts", "facts": facts})
    html = HtmlReport().render(run_audit(AuditConfig(targets=[target]), cache_dir=tmp_path))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "To reach stage 1 (Accelerate research)" in html


def test_reports_written_as_they_are_made_are_the_rendered_reports(tmp_path):
    """JSON, Markdown and HTML give their bytes in chunks, which the CLI writes as they come
    (a fleet's reports are megabytes): the files are exactly what rendering them whole gives,
    across many chunks."""
    from auditor import output
    from reports.html import HtmlReport
    from reports.json_report import BATCH, JsonReport
    from reports.markdown import MarkdownReport

    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@1#README.md:1"},
             {"signal": "ci.pipeline", "locator": "git+file:///r@1#.github/workflows/ci.yml:4",
              "excerpt": "run: pytest — ünïcode ✓"}]
    targets = [build_target({"name": f"svc-{i}", "kind": "facts", "facts": facts,
                             "labels": {"team": f"team-{i % 4}"}}) for i in range(100)]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    assert len(doc["capabilities"]) > 2 * BATCH
    for report in (JsonReport(), MarkdownReport(), HtmlReport()):
        chunks = list(report.chunks(doc))
        whole = report.render(doc)
        whole = whole if isinstance(whole, bytes) else whole.encode()
        assert len(chunks) > 2, report.name  # split somewhere
        (written,) = output.replace_reports(tmp_path / report.name, {report.filename: iter(chunks)})
        assert written.read_bytes() == whole, report.name
