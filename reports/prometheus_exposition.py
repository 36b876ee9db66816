"""mlops_audit.prom: Prometheus text exposition for the node-exporter textfile collector, so
scheduled audits can be graphed and alerted on."""

from __future__ import annotations

from typing import Any


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_label(str(v))}"' for k, v in kw.items()) + "}"


class PrometheusReport:
    name = "prometheus"
    filename = "mlops_audit.prom"

    def render(self, assessment: dict[str, Any]) -> str:
        lines = [
            "# HELP mlops_audit_stage Placement on the maturity framework (0 = not started).",
            "# TYPE mlops_audit_stage gauge",
        ]
        for p in assessment["placements"]:
            lines.append("mlops_audit_stage" + _labels(framework=p["framework"], scope_kind=p["scope"]["kind"],
                                                        scope=p["scope"]["name"]) + f" {p['stage']}")
        lines += ["# HELP mlops_audit_capability_met 1 when the capability is met in the scope.",
                  "# TYPE mlops_audit_capability_met gauge"]
        for c in assessment["capabilities"]:
            lines.append("mlops_audit_capability_met" + _labels(
                scope_kind=c["scope"]["kind"], scope=c["scope"]["name"], capability=c["id"],
                status=c["status"]) + f" {1 if c['status'] == 'met' else 0}")
        lines += ["# HELP mlops_audit_evidence Evidence items collected.", "# TYPE mlops_audit_evidence gauge",
                  f"mlops_audit_evidence {len(assessment['evidence'])}",
                  "# HELP mlops_audit_unobserved Sources that could not be observed.",
                  "# TYPE mlops_audit_unobserved gauge",
                  f"mlops_audit_unobserved {len(assessment['unobserved'])}",
                  "# HELP mlops_audit_partial 1 when the audit could not see everything.",
                  "# TYPE mlops_audit_partial gauge",
                  f"mlops_audit_partial {int(assessment['partial'])}",
                  "# HELP mlops_audit_duration_seconds Wall time of the audit run.",
                  "# TYPE mlops_audit_duration_seconds gauge",
                  f"mlops_audit_duration_seconds {assessment['run']['duration_seconds']}"]
        return "\n".join(lines) + "\n"
