"""mlops_audit.prom: Prometheus text exposition for the node-exporter textfile collector, so
scheduled audits can be graphed and alerted on.

Every series is stable from run to run: what changes (a status, a stage) is a value, never a
label, so a capability keeps one series whatever happens to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: mlops_audit_capability_status values; unknown is NaN: an auditor does not accuse, or
#: alert on, what it could not see.
STATUS_VALUE = {"unmet": "0", "partial": "1", "met": "2", "unknown": "NaN"}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_label(str(v))}"' for k, v in kw.items()) + "}"


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class PrometheusReport:
    name = "prometheus"
    filename = "mlops_audit.prom"

    def render(self, assessment: dict[str, Any]) -> str:
        lines: list[str] = []

        def metric(name: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
            lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} gauge"])
            lines.extend(f"{name}{labels} {value}" for labels, value in samples)

        def where(p: dict[str, Any]) -> str:
            return _labels(framework=p["framework"], scope_kind=p["scope"]["kind"],
                           scope=p["scope"]["name"])

        placements = assessment["placements"]
        metric("mlops_audit_stage", "Placement on the maturity framework (0 = not started).",
               [(where(p), p["stage"]) for p in placements])
        metric("mlops_audit_stage_provisional",
               "1 when the placement assumes capabilities that could not be observed.",
               [(where(p), int(p["provisional"])) for p in placements])
        moved = {(c["framework"], c["scope"]["kind"], c["scope"]["name"]): c["to"] - c["from"]
                 for c in (assessment.get("changes") or {}).get("placements", [])}
        metric("mlops_audit_stage_change", "Stage change since the previous run (0 = unchanged).",
               [(where(p), moved.get((p["framework"], p["scope"]["kind"], p["scope"]["name"]), 0))
                for p in placements])
        caps = assessment["capabilities"]

        def cap_labels(c: dict[str, Any]) -> str:
            return _labels(scope_kind=c["scope"]["kind"], scope=c["scope"]["name"], capability=c["id"])

        metric("mlops_audit_capability_status",
               "Capability status in the scope: 0 unmet, 1 partial, 2 met, NaN unknown.",
               [(cap_labels(c), STATUS_VALUE[c["status"]]) for c in caps])
        metric("mlops_audit_capability_met", "1 when the capability is met in the scope.",
               [(cap_labels(c), int(c["status"] == "met")) for c in caps])
        metric("mlops_audit_capability_waived", "1 when an active waiver counts it as met.",
               [(cap_labels(c), int("waiver" in c)) for c in caps])
        changed = (assessment.get("changes") or {}).get("capabilities", [])
        metric("mlops_audit_capability_changes", "Capabilities whose status changed since the previous run.",
               [("", len(changed))])
        metric("mlops_audit_evidence", "Evidence items collected.", [("", len(assessment["evidence"]))])
        metric("mlops_audit_unobserved", "Sources that could not be observed.",
               [("", len(assessment["unobserved"]))])
        metric("mlops_audit_partial", "1 when the audit could not see everything.",
               [("", int(assessment["partial"]))])
        metric("mlops_audit_duration_seconds", "Wall time of the audit run.",
               [("", assessment["run"]["duration_seconds"])])
        started = _epoch(assessment["run"]["started_at"])
        metric("mlops_audit_last_run_timestamp_seconds",
               "When the audit run finished (Unix time): alert when it is too old.",
               [("", round(started + float(assessment["run"]["duration_seconds"]), 3))])
        return "\n".join(lines) + "\n"
