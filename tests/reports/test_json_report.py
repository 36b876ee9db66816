"""assessment.json validates against the shipped schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from auditor.probe import Policy
from reports.json_report import JsonReport

SCHEMA = json.loads((Path(__file__).parents[2] / "auditor/schema/assessment.schema.json").read_text())

pytestmark = pytest.mark.usefixtures("test_plugin")


def sample(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating"},
             {"signal": "tool.experiment_tracking", "attributes": {"tool": "mlflow", "version": "2.9.0"}},
             {"signal": "tool.experiment_tracking", "attributes": {"tool": "wandb"}},
             {"signal": "tempo.commits_per_week", "attributes": {"value": 4, "unit": "per_week"}},
             {"signal": "residency.region", "attributes": {"region": "us-east-1"}}]
    other = [{"signal": "tracking.server", "strength": "operating",
              "attributes": {"tool": "mlflow-server", "version": "3.1.0"}},
             {"signal": "tool.experiment_tracking", "attributes": {"tool": "mlflow", "version": "3.1.0"}}]
    targets = [build_target({"name": "a", "kind": "facts", "facts": facts, "labels": {"team": "x"}}),
               build_target({"name": "b", "kind": "facts", "facts": other, "labels": {"team": "y"}}),
               build_target({"name": "c", "kind": "facts", "fail": "down"})]
    # where resources are is evidence; whether that is allowed is the policy's (compliance)
    return run_audit(AuditConfig(targets=targets, policy=Policy(("eu-west-1",))),
                     cache_dir=tmp_path)


def test_json_report_validates_against_schema(tmp_path):
    doc = json.loads(JsonReport().render(sample(tmp_path)))
    jsonschema.validate(doc, SCHEMA)


def test_schema_rejects_met_without_evidence(tmp_path):
    doc = sample(tmp_path)
    met = next(c for c in doc["capabilities"] if c["status"] == "met")
    met["evidence"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_inventory_shows_sprawl_drift_and_client_server_mismatch(tmp_path):
    inv = sample(tmp_path)["inventory"]
    assert {"category": "experiment_tracking", "category_title": "Experiment tracking",
            "tools": ["mlflow", "wandb"]} in inv["sprawl"]
    drift = {d["tool"]: d for d in inv["drift"]}
    assert [v["version"] for v in drift["mlflow"]["versions"]] == ["2.9.0", "3.1.0"]
    assert inv["client_server_mismatches"][0]["client_version"] == "2.9.0"


def test_compliance_flags_residency_violation_and_tempo_is_reported(tmp_path):
    doc = sample(tmp_path)
    residency = next(c for c in doc["compliance"] if c["id"] == "data_residency")
    assert residency["status"] == "fail"
    assert any(t["metric"] == "commits_per_week" and t["value"] == 4 for t in doc["tempo"])


def test_the_report_written_in_chunks_is_the_rendered_report(tmp_path):
    from auditor import output

    doc = sample(tmp_path)
    report = JsonReport()
    written = output.replace_reports(tmp_path / "out", {"assessment.json": report.chunks(doc)})
    assert written[0].read_bytes() == report.render(doc)
    assert json.loads(written[0].read_bytes()) == json.loads(json.dumps(doc.to_dict()))


def test_a_report_failing_while_it_is_written_leaves_the_previous_reports_as_they_were(tmp_path):
    """Reports are made into temp files first and renamed only once every one is complete."""
    from auditor import output

    out = tmp_path / "out"
    output.replace_reports(out, {"assessment.json": b"{}\n", "report.md": "# before\n"})

    def failing():
        yield b'{"partial": '
        raise ValueError("a value the encoder cannot write")

    with pytest.raises(ValueError):
        output.replace_reports(out, {"report.md": "# after\n", "assessment.json": failing()})
    assert (out / "report.md").read_text() == "# before\n"
    assert (out / "assessment.json").read_bytes() == b"{}\n"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
