"""Probes run concurrently; a failing or hanging probe becomes `unobserved`, the audit finishes."""

from __future__ import annotations

import time

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target

pytestmark = pytest.mark.usefixtures("test_plugin")


def facts_target(name, facts=(), **kw):
    return build_target({"name": name, "kind": "facts", "facts": list(facts), **kw})


def test_plugin_probe_is_discovered_through_entry_points():
    from auditor import registry

    assert registry.probes()["facts"].obj.__name__ == "FactsProbe"


def test_exception_in_one_probe_is_isolated(tmp_path):
    good = facts_target("good", [{"signal": "vcs.repository", "strength": "operating"}])
    bad = facts_target("bad", [{"signal": "env.lockfile"}], fail="boom: token=supersecret123")
    a = run_audit(AuditConfig(targets=[good, bad]), cache_dir=tmp_path)
    assert a["partial"] is True
    assert {e["target"] for e in a["evidence"]} == {"good", "bad"}  # what bad saw before failing is kept
    (u,) = a["unobserved"]
    assert u["target"] == "bad" and "boom" in u["reason"] and "supersecret123" not in u["reason"]
    assert {t["name"]: t["status"] for t in a["targets"]} == {"good": "ok", "bad": "error"}


def test_timeout_keeps_partial_evidence_and_reports_reason(tmp_path):
    slow = facts_target("slow", [{"signal": "env.lockfile"}], sleep=30, timeout=0.5)
    t0 = time.monotonic()
    a = run_audit(AuditConfig(targets=[slow]), cache_dir=tmp_path)
    assert time.monotonic() - t0 < 10
    assert [e["signal"] for e in a["evidence"]] == ["env.lockfile"]
    assert "timed out after 0.5s" in a["unobserved"][0]["reason"]


def test_a_probe_that_ignores_its_timeout_is_abandoned(tmp_path):
    hang = build_target({"name": "stuck", "kind": "hang", "timeout": 0.5})
    ok = facts_target("ok", [{"signal": "vcs.repository"}])
    t0 = time.monotonic()
    a = run_audit(AuditConfig(targets=[hang, ok]), cache_dir=tmp_path, jobs=1)
    assert time.monotonic() - t0 < 10
    assert {e["target"] for e in a["evidence"]} == {"stuck", "ok"}
    assert any(u["target"] == "stuck" and "timed out" in u["reason"] for u in a["unobserved"])
    # what the hung source could have shown is unknown for the project it serves, not unmet
    caps = {(c["scope"]["name"], c["id"]): c for c in a["capabilities"]}
    serving = caps[("ok", "scalable_serving")]
    assert serving["status"] == "unknown"
    assert any(line.startswith("stuck:") and "timed out" in line for line in serving["unobserved"])


def test_targets_run_concurrently(tmp_path):
    targets = [facts_target(f"t{i}", sleep=0.6) for i in range(4)]
    t0 = time.monotonic()
    run_audit(AuditConfig(targets=targets), cache_dir=tmp_path, jobs=4)
    assert time.monotonic() - t0 < 0.6 * 4 * 0.75


def test_same_inputs_give_the_same_assessment_apart_from_times(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating"}, {"signal": "env.lockfile"}]
    cfg = AuditConfig(targets=[facts_target("a", facts, labels={"team": "x"})])
    one, two = (run_audit(cfg, cache_dir=tmp_path) for _ in range(2))
    for a in (one, two):
        a.pop("run")
        a.pop("probes")
        for e in a["evidence"]:
            e.pop("observed_at")
    assert one == two
