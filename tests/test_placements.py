"""Real repositories standing for stages 0, 2, 4 and 6: their placements and the evidence cited.

The stage-6 assessment is kept as a golden file (tests/golden/stage6_assessment.json) with
run metadata, times and the temporary path normalised. Regenerate it deliberately with
UPDATE_GOLDEN=1 python -m pytest tests/test_placements.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.repos import make_stage0_repo, make_stage2_repo, make_stage4_repo, make_stage6_repo

NOW = datetime(2026, 11, 1, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "stage6_assessment.json"
SCHEMA = json.loads((Path(__file__).parents[1] / "auditor/schema/assessment.schema.json").read_text())
BUILDERS = {0: make_stage0_repo, 2: make_stage2_repo, 4: make_stage4_repo, 6: make_stage6_repo}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Each stage repository audited on its own, plus all four together as two teams."""
    root = tmp_path_factory.mktemp("stages")
    paths = {n: build(root / f"stage{n}") for n, build in BUILDERS.items()}
    single = {
        n: run_audit(AuditConfig(targets=[build_target({"name": f"stage{n}", "kind": "git", "path": str(p)})]),
                     cache_dir=root / "cache", now=NOW)
        for n, p in paths.items()
    }
    teams = {0: "research", 2: "research", 4: "platform", 6: "platform"}
    together = run_audit(AuditConfig(targets=[
        build_target({"name": f"stage{n}", "kind": "git", "path": str(p), "labels": {"team": teams[n]}})
        for n, p in paths.items()]), cache_dir=root / "cache", now=NOW)
    return root, single, together


def placement(a, kind, name, framework="seven_stages"):
    return next(p for p in a["placements"]
                if p["framework"] == framework and p["scope"] == {"kind": kind, "name": name})


def cited(a, scope_name, capability):
    ev = {e["id"]: e for e in a["evidence"]}
    cap = next(c for c in a["capabilities"]
               if c["scope"]["name"] == scope_name and c["id"] == capability)
    return cap["status"], [ev[i]["locator"].split("#", 1)[-1] for i in cap["evidence"]]


@pytest.mark.parametrize("stage", [0, 2, 4, 6])
def test_each_repository_is_placed_at_its_stage(audited, stage):
    _, single, _ = audited
    a = single[stage]
    p = placement(a, "target", f"stage{stage}")
    assert p["stage"] == stage, p["blockers"]
    assert p["certain"] and a["unobserved"] == []
    assert p["blockers"], "every stage below 7 names what blocks the next"
    assert all(b["next_step"] for b in p["blockers"])
    jsonschema.validate(a, SCHEMA)


def test_stage0_notebooks_only_blocked_by_environment_and_compute(audited):
    _, single, _ = audited
    p = placement(single[0], "target", "stage0")
    assert {b["capability"] for b in p["blockers"]} == {"reproducible_environment", "self_service_compute"}
    status, where = cited(single[0], "stage0", "version_control")
    assert status == "met"


def test_stage2_cites_workflow_files_and_lines(audited):
    _, single, _ = audited
    status, where = cited(single[2], "stage2", "ci_cd_deployment")
    assert status == "met"
    assert any(w.startswith(".github/workflows/") and w.rsplit(":", 1)[1].isdigit() and int(w.rsplit(":", 1)[1]) > 1
               for w in where), where
    status, where = cited(single[2], "stage2", "reproducible_environment")
    assert status == "met" and "Dockerfile:1" in where
    blockers = {b["capability"] for b in placement(single[2], "target", "stage2")["blockers"]}
    assert blockers == {"ml_pipelines", "feature_store", "distributed_compute", "scalable_serving"}


def test_stage4_is_blocked_by_stage5_capabilities(audited):
    _, single, _ = audited
    p = placement(single[4], "target", "stage4")
    assert {"lineage", "data_versioning"} <= {b["capability"] for b in p["blockers"]}
    status, where = cited(single[4], "stage4", "model_monitoring")
    assert status == "met" and where


def test_stage6_names_stage7_blockers_and_cites_governance(audited):
    _, single, _ = audited
    p = placement(single[6], "target", "stage6")
    assert {b["capability"] for b in p["blockers"]} >= {"audit_logging", "cost_monitoring"}
    for cap, fragment in [("code_review", "CODEOWNERS"), ("model_documentation", ""),
                          ("data_versioning", ""), ("cross_source_integration", "")]:
        status, where = cited(single[6], "stage6", cap)
        assert status == "met" and where and any(fragment in w for w in where), (cap, where)


def test_teams_and_organisation(audited):
    _, _, a = audited
    assert placement(a, "team", "research")["stage"] == 2
    assert placement(a, "team", "platform")["stage"] == 6
    assert placement(a, "org", "organisation")["stage"] == 6
    assert {t["name"] for t in a["targets"]} == {"stage0", "stage2", "stage4", "stage6"}


def normalise(a: dict, root: Path) -> dict:
    """Drop times and run metadata; replace the temporary path, and the evidence ids that
    hash it, by stable placeholders."""
    import hashlib

    text = json.dumps(a, sort_keys=True)
    for e in a["evidence"]:
        stable = json.dumps([e["target"], e["signal"], e["locator"].replace(str(root), "<tmp>"),
                             e["attributes"]], sort_keys=True)
        text = text.replace(e["id"], "ev-" + hashlib.sha1(stable.encode()).hexdigest()[:12])
    doc = _sort_id_lists(json.loads(text.replace(str(root), "<tmp>")))
    doc.pop("run")
    doc.pop("probes")
    for e in doc["evidence"]:
        e.pop("observed_at")
    return doc


def _sort_id_lists(value):
    """Cited ids are sorted by id, and ids changed above: sort them again."""
    if isinstance(value, dict):
        return {k: _sort_id_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sort_id_lists(v) for v in value]
        if items and all(isinstance(v, str) and v.startswith("ev-") for v in items):
            return sorted(items)
        return items
    return value


def test_golden_assessment(audited):
    root, single, _ = audited
    doc = normalise(single[6], root)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert doc["placements"] == expected["placements"]
    assert doc["capabilities"] == expected["capabilities"]
    assert doc == expected
