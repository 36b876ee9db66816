"""JUnit, SARIF, CSV and Prometheus exposition outputs, checked with the tools that read them."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

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
    n_met = sum(1 for c in assessment["capabilities"] if c["scope"]["name"] == "svc" and c["status"] == "met"
                and c["id"] in {r for s in assessment["frameworks"][0]["stages"] for r in s["requires"]})
    assert int(svc.get("tests")) == 31 and int(svc.get("failures")) == 31 - n_met
    assert int(suites["target gone"].get("skipped")) > 0  # unobserved → skipped, not failed


def test_sarif_points_partial_capability_at_its_file(assessment):
    doc = json.loads(SarifReport().render(assessment))
    results = doc["runs"][0]["results"]
    env = next(r for r in results if r["ruleId"] == "reproducible_environment" and "svc" in r["message"]["text"])
    assert env["level"] == "note"
    assert env["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "requirements.txt"
    assert env["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_csv_has_a_row_per_scope_and_capability(assessment):
    rows = list(csv.DictReader(io.StringIO(CsvReport().render(assessment))))
    assert len(rows) == len(assessment["capabilities"])
    row = next(r for r in rows if r["scope"] == "svc" and r["capability"] == "version_control")
    assert row["status"] == "met" and "README.md:1" in row["locators"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool ships with Debian's prometheus (.ci/run installs it)")
def test_prometheus_exposition_passes_promtool(assessment, tmp_path):
    text = PrometheusReport().render(assessment)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'mlops_audit_stage{framework="seven_stages",scope_kind="org",scope="organisation"} 0' in text
    assert "mlops_audit_partial 1" in text


def test_html_report_escapes_content_and_lists_blockers(tmp_path):
    from reports.html import HtmlReport

    facts = [{"signal": "vcs.repository", "strength": "operating",
              "locator": "git+file:///r@1#<script>alert(1)</script>.py:1"}]
    target = build_target({"name": "svc", "kind": "facts", "facts": facts})
    html = HtmlReport().render(run_audit(AuditConfig(targets=[target]), cache_dir=tmp_path))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "To reach stage 1 (Accelerate research)" in html
