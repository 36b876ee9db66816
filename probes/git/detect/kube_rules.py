"""Prometheus alerting rules: rules about the model (drift, quality, predictions) versus
rules about the service (latency, errors, up)."""

from __future__ import annotations

import re

MODEL_RULE = re.compile(
    r"drift|psi\b|_psi|\bks_|kolmogorov|accuracy|precision|recall|\bf1|\bauc\b|_auc|rmse|\bmae\b|"
    r"mape|prediction|predicted|model_(score|quality|performance|version|confidence)|"
    r"feature_(skew|distribution|null|missing)|data_quality|skew|confidence|outlier", re.I)

REMEDIATION = re.compile(r"retrain|rollback|roll-back|remediat|redeploy|pipeline|dispatch|"
                         r"argo-events|workflow", re.I)


def rule_kind(rule: dict) -> str:
    text = " ".join(str(rule.get(k, "")) for k in ("alert", "record", "expr"))
    text += " " + " ".join(str(v) for v in (rule.get("labels") or {}).values()) if isinstance(
        rule.get("labels"), dict) else ""
    text += " " + " ".join(str(v) for v in (rule.get("annotations") or {}).values()) if isinstance(
        rule.get("annotations"), dict) else ""
    return "model" if MODEL_RULE.search(text) else "operational"
