"""The signal prefixes the Prometheus probe emits, per area (an area that cannot be read
makes its signals unknown)."""

from __future__ import annotations

RULE_SIGNALS = ("monitoring.model_rule", "monitoring.operational_rule", "data_validation.check")
METRIC_SIGNALS = ("monitoring.model_metric", "serving.deployment")
ROUTING_SIGNALS = ("monitoring.alert_routing", "remediation.trigger")
ALL_SIGNALS = ("monitoring", "remediation.trigger", "serving.deployment", "tool.monitoring",
               "data_validation.check")
