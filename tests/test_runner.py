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


IMPORT_WATCH = r"""
import json, sys, threading
first = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("kubernetes", "mlflow", "boto3") and name not in first:
            first[name] = threading.current_thread().name
        return None

sys.meta_path.insert(0, Watch())
from auditor.config import AuditConfig, build_target
from auditor.runner import run_probes
from auditor import registry
from pathlib import Path

url, kubeconfig, cache = sys.argv[1:4]
targets = [build_target(raw) for raw in (
    {"name": "m1", "kind": "mlflow", "tracking_uri": url, "max_retries": 0},
    {"name": "m2", "kind": "mlflow", "tracking_uri": url, "max_retries": 0},
    {"name": "k1", "kind": "kubernetes", "kubeconfig": kubeconfig},
    {"name": "k2", "kind": "kubernetes", "kubeconfig": kubeconfig},
    {"name": "a1", "kind": "aws", "endpoint_url": url, "regions": ["eu-west-1"], "max_attempts": 1},
    {"name": "a2", "kind": "aws", "endpoint_url": url, "regions": ["eu-west-1"], "max_attempts": 1},
)]
from auditor.probe import Policy
result = run_probes([(t, registry.probe_for(t.kind)) for t in targets], cache_dir=Path(cache),
                    policy=Policy(), jobs=6, default_timeout=30)
print(json.dumps({"first": first, "reasons": [u.reason for u in result.unobserved]}))
"""


def test_heavy_client_libraries_are_imported_before_probe_threads_start(tmp_path):
    """Imported for the first time from several probe threads at once, a library can be seen
    half-initialised ('module requests has no attribute exceptions'); the runner prepares each
    probe kind once, in its own thread, before any probe thread starts."""
    import json
    import os
    import subprocess
    import sys

    from tests.servers._util import free_port
    from tests.servers.kubernetes import write_kubeconfig

    url = f"http://127.0.0.1:{free_port()}"
    kubeconfig = write_kubeconfig(tmp_path / "kc", url, "token-for-nobody")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
           "AWS_SECRET_ACCESS_KEY": "fake-secret-for-an-unreachable-endpoint"}
    proc = subprocess.run([sys.executable, "-c", IMPORT_WATCH, url, str(kubeconfig),
                           str(tmp_path / "cache")], capture_output=True, text=True, env=env,
                          timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["first"] == {"mlflow": "MainThread", "kubernetes": "MainThread",
                            "boto3": "MainThread"}, out
    assert not any("partially initialized" in r or "has no attribute" in r for r in out["reasons"])


def test_the_second_pass_asks_only_probes_that_resolve_a_kind_of_key_referenced(tmp_path, monkeypatch):
    """Repositories resolve commits: with no commit referenced, none is opened again; once a
    run cites a commit, each is asked."""
    from probes.git import GitProbe
    from tests.repos import make_stage2_repo

    asked: list[str] = []
    original = GitProbe.resolve_links

    def spy(self, target, ctx, keys):
        asked.append(target.name)
        return original(self, target, ctx, keys)

    monkeypatch.setattr(GitProbe, "resolve_links", spy)
    repo = build_target({"name": "repo", "kind": "git", "path": str(make_stage2_repo(tmp_path / "r"))})
    run_audit(AuditConfig(targets=[repo]), cache_dir=tmp_path / "c", executor="threads")
    assert asked == []  # its images and models are referenced, no commit is
    runs = facts_target("runs", [{"signal": "tracking.runs_recent",
                                  "attributes": {"links_to": ["commit:" + "ab" * 20]}}])
    run_audit(AuditConfig(targets=[repo, runs]), cache_dir=tmp_path / "c", executor="threads")
    assert asked == ["repo"]
