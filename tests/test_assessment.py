"""The Assessment keeps its long lists in a database: the same document, read back as it is
iterated, looked up by the keys reports use, and written without holding the lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.assessment import Assessment, Rows
from auditor.output import summary
from reports.json_report import JsonReport
from reports.markdown import MarkdownReport
from reports.view import EvidenceLookup, assumptions
from tests.support import traced_peak


def _document(projects: int, evidence_each: int = 10) -> dict[str, Any]:
    """A fleet-shaped document: projects with evidence and capability results, two teams,
    the organisation, placements on one framework."""
    teams = {f"p{i:04d}": ("red" if i % 2 else "blue") for i in range(projects)}
    evidence = [{"id": f"ev-{i:04d}-{k:02d}", "target": name, "signal": "ci.workflow" if k else "vcs.repository",
                 "strength": "declared", "locator": f"git+file:///srv/{name}@abc#f{k}.yml:1",
                 "attributes": {"tool": "github-actions", "note": "é" * 20}, "excerpt": "on: push"}
                for i, name in enumerate(teams) for k in range(evidence_each)]
    scopes = ([{"kind": "target", "name": n} for n in teams]
              + [{"kind": "team", "name": t} for t in ("blue", "red")] + [{"kind": "org", "name": "organisation"}])
    caps = [{"scope": s, "id": cid, "title": cid.title(), "level": "project",
             "status": "met" if s["kind"] != "target" or int(s["name"][1:]) % 3 else "unknown",
             "evidence": [f"ev-{int(s['name'][1:]):04d}-01"] if s["kind"] == "target" else []}
            for s in scopes for cid in ("ci", "registry")]
    placements = [{"framework": "seven_stages", "scope": s, "basis": "project", "stage": i % 4,
                   "stage_name": "x", "provisional": True, "strict_stage": 0,
                   "next_stage": None, "unsettled": [], "met_above": [], "profile": [],
                   "assumed": [{"capability": "registry", "title": "Registry", "stage": 2,
                                "reason": "not observable from git alone", "settle_with": ["mlflow"]}],
                   "blockers": []}
                  for i, s in enumerate(reversed(scopes))]
    return {"schema_version": "2.0", "tool": {"name": "mlops-auditor", "version": "0"},
            "run": {"id": "r1", "started_at": "2026-12-07T00:00:00Z", "duration_seconds": 1.0},
            "partial": False, "frameworks": [{"id": "seven_stages", "title": "Seven", "stages": []}],
            "targets": [{"name": n, "kind": "git", "labels": {"team": t}, "status": "ok"} for n, t in teams.items()],
            "sources": [], "evidence": evidence, "unobserved": [], "links": [], "capabilities": caps,
            "placements": placements,
            "inventory": {"tools": [], "sprawl": [], "drift": [], "unpinned_dependencies": [],
                          "client_server_mismatches": []}, "tempo": [], "compliance": [], "waivers": [],
            "probes": []}


def test_the_document_reads_back_as_it_went_in() -> None:
    plain = _document(12)
    doc = Assessment.from_dict(plain)
    assert list(doc) == list(plain)  # the document's key order, lists in their places
    assert isinstance(doc["evidence"], Rows) and len(doc["evidence"]) == 120
    assert doc["evidence"] == plain["evidence"] and doc["evidence"][-1] == plain["evidence"][-1]
    assert doc["capabilities"][3:5] == plain["capabilities"][3:5]
    assert not doc["links"] and doc["links"] == []
    assert doc.to_dict() == plain
    with pytest.raises(IndexError):
        doc["evidence"][120]
    fleet = _document(300)  # more items than one insert batch
    assert Assessment.from_dict(fleet).to_dict() == fleet


def test_reports_look_items_up_by_scope_id_and_target() -> None:
    plain = _document(12)
    doc = Assessment.from_dict(plain)
    red = {"kind": "team", "name": "red"}
    assert doc.capabilities_of(red) == [c for c in plain["capabilities"] if c["scope"] == red]
    order = [(p["scope"]["kind"], p["scope"]["name"]) for p in doc.placements_sorted("seven_stages")]
    assert order[:3] == [("org", "organisation"), ("team", "blue"), ("team", "red")]
    assert order[3:] == sorted(order[3:]) and len(order) == 15
    assert [e["id"] for e in doc.evidence_of("p0003")] == [f"ev-0003-{k:02d}" for k in range(10)]
    assert set(doc.evidence_by_ids(["ev-0001-01", "ev-0002-09", "nope"])) == {"ev-0001-01", "ev-0002-09"}
    assert [e["target"] for e in doc.evidence_with("vcs.repository")] == [f"p{i:04d}" for i in range(12)]
    lookup = EvidenceLookup(doc)
    assert lookup["ev-0004-02"]["locator"].endswith("f2.yml:1") and "nope" not in lookup


def test_a_fleet_line_counts_scopes_without_holding_them() -> None:
    doc = Assessment.from_dict(_document(40))
    [line] = assumptions(doc.placements_sorted("seven_stages"))
    assert line.endswith("[organisation, 2 teams and 40 targets]")


def test_history_summary_streams_the_same_statuses() -> None:
    plain = _document(6)
    kept = summary(Assessment.from_dict(plain))
    assert kept["capabilities"] == {f"{c['scope']['kind']}:{c['scope']['name']}:{c['id']}": c["status"]
                                    for c in plain["capabilities"]}
    assert [p["stage"] for p in kept["placements"]] == [p["stage"] for p in plain["placements"]]
    assert [p["provisional"] for p in kept["placements"]] == [True] * len(plain["placements"])


def test_reports_are_the_same_from_the_database_and_from_a_plain_document() -> None:
    plain = _document(8)
    doc = Assessment.from_dict(plain)
    assert JsonReport().render(doc) == JsonReport().render(plain)
    assert json.loads(JsonReport().render(doc)) == plain
    assert MarkdownReport().render(doc) == MarkdownReport().render(plain)


def test_writing_a_fleets_reports_does_not_hold_its_lists() -> None:
    doc = Assessment.from_dict(_document(1500))  # 15,000 evidence items, 3,000 results

    def json_report() -> None:
        for _ in JsonReport().chunks(doc):
            pass

    def markdown_report() -> None:
        for _ in MarkdownReport().chunks(doc):
            pass

    MarkdownReport().render(_document(1))  # the template compiled before measuring
    held = traced_peak(doc.to_dict)  # what the lists take as plain Python
    assert traced_peak(json_report) < held / 20
    assert traced_peak(markdown_report) < held / 20
