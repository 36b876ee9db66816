"""A whole audit (run_audit) over the real Prometheus + Alertmanager, and over a broken one."""

from __future__ import annotations

import json

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.servers._util import free_port
from tests.servers.prometheus import GITLAB_TRIGGER_TOKEN, PROM_PASSWORD, PROM_USER, SLACK_SECRET


def capability(assessment: dict, team: str, cap: str) -> str:
    """Prometheus servers are sources: with no repository audited, a team is judged on its
    servers' pooled evidence."""
    [found] = [c for c in assessment["capabilities"]
               if c["scope"] == {"kind": "team", "name": team} and c["id"] == cap]
    return found["status"]


def test_audit_places_monitoring_and_remediation(prometheus_stack, tmp_path, monkeypatch):
    monkeypatch.setenv("MLA_PROM_USER", PROM_USER)
    monkeypatch.setenv("MLA_PROM_PASSWORD", PROM_PASSWORD)
    config = AuditConfig(targets=[
        build_target({"name": "prom", "kind": "prometheus", "url": prometheus_stack.url,
                      "alertmanager_url": prometheus_stack.alertmanager_url,
                      "username_env": "MLA_PROM_USER", "password_env": "MLA_PROM_PASSWORD",
                      "labels": {"team": "ml"}}),
        build_target({"name": "gone", "kind": "prometheus",
                      "url": f"http://127.0.0.1:{free_port()}", "labels": {"team": "edge"}}),
    ])
    assessment = run_audit(config, cache_dir=tmp_path)
    for cap in ("model_monitoring", "alert_remediation", "model_serving", "data_validation"):
        assert capability(assessment, "ml", cap) == "met", cap
    provides = {c["capability"] for s in assessment["sources"] if s["target"] == "prom"
                for c in s["provides"] if c["status"] == "met"}
    assert {"model_monitoring", "alert_remediation"} <= provides
    # the unreachable target is unknown, never unmet, and the audit still completes
    for cap in ("model_monitoring", "alert_remediation"):
        assert capability(assessment, "edge", cap) == "unknown", cap
    assert assessment["partial"] is True
    [gone] = [u for u in assessment["unobserved"] if u["target"] == "gone"]
    assert gone["reason"].endswith("is unreachable: connection refused")
    text = json.dumps(assessment.to_dict())
    for secret in (PROM_PASSWORD, GITLAB_TRIGGER_TOKEN, SLACK_SECRET):
        assert secret not in text
