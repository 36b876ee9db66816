"""History: a run's summary is written as it is read from the assessment, and the previous
run's statuses are read back a line at a time, not held."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from auditor import output
from auditor.assessment import Assessment
from tests.support import traced_peak


def _assessment(projects: int) -> Assessment:
    scopes = [{"kind": "target", "name": f"repo-{i:05d}"} for i in range(projects)]
    caps = [{"scope": s, "id": f"cap_{k:02d}", "title": f"Capability {k}", "level": "project",
             "status": ("met", "partial", "unmet", "unknown")[(i + k) % 4], "evidence": []}
            for i, s in enumerate(scopes) for k in range(33)]
    placements = [{"framework": "seven_stages", "scope": s, "stage": i % 7, "provisional": bool(i % 2)}
                  for i, s in enumerate(scopes)]
    return Assessment.from_dict({"run": {"id": f"run-{projects}", "started_at": "2026-12-07T10:00:00Z"},
                                 "partial": False, "capabilities": caps, "placements": placements})


def test_the_previous_runs_statuses_read_back_as_they_were(tmp_path: Path) -> None:
    doc = _assessment(30)
    path = output.append_history(tmp_path, doc)
    previous = output.previous_run(tmp_path)
    assert previous is not None and previous["run"]["id"] == "run-30"
    assert dict(previous["capabilities"]) == output.summary(doc)["capabilities"]
    assert len(previous["capabilities"]) == 990
    assert previous["placements"][3] == {"framework": "seven_stages", "provisional": True,
                                         "scope": {"kind": "target", "name": "repo-00003"}, "stage": 3}
    assert json.loads(gzip.decompress(path.read_bytes()))["capabilities"]["target:repo-00001:cap_02"] == "unknown"


def test_changes_since_the_previous_run_are_found_without_holding_it(tmp_path: Path) -> None:
    output.append_history(tmp_path, _assessment(1500))  # 49,500 statuses
    written = next(tmp_path.glob("*.json.gz")).read_bytes()

    held = traced_peak(lambda: json.loads(gzip.decompress(written)))  # read whole
    streamed = traced_peak(lambda: output.previous_run(tmp_path))
    assert streamed < held / 4, (streamed >> 10, held >> 10)

    now = _assessment(1500)
    now["capabilities"] = [{**c, "status": "met"} if c["scope"]["name"] == "repo-00007" else c
                           for c in now["capabilities"]]
    found = output.changes(output.previous_run(tmp_path), now)
    assert {c["capability"] for c in found["capabilities"]} == {
        f"cap_{k:02d}" for k in range(33) if (7 + k) % 4}
    assert all(c["scope"] == {"kind": "target", "name": "repo-00007"} and c["to"] == "met"
               for c in found["capabilities"])


def test_a_summary_written_whole_by_an_earlier_version_is_still_read(tmp_path: Path) -> None:
    older = {"run": {"id": "old"}, "partial": False, "placements": [],
             "capabilities": {"target:a:cap_01": "met"}}
    (tmp_path / "20261201T000000Z-old.json.gz").write_bytes(gzip.compress(json.dumps(older).encode()))
    assert output.previous_run(tmp_path) == older
