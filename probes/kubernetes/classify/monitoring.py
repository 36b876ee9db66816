"""Prometheus rules and monitors (rules classified by auditor.rules, the shared classifier)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from auditor.evidence import Evidence, Strength
from auditor.rules import classify_rule

from ..objects import (
    as_dict,
    as_list,
    capped,
    dig,
)
from .base import ClassifierBase, _Monitor


class MonitoringHandlers(ClassifierBase):
    """PrometheusRules (through :func:`auditor.rules.classify_rule`) and monitors."""

    def _prometheusrule(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        operational: list[str] = []
        records = 0
        for group in as_list(dig(obj, "spec", "groups")):
            gname = str(as_dict(group).get("name") or "")
            for rule in as_list(as_dict(group).get("rules")):
                if not isinstance(rule, Mapping):
                    continue
                alert, record = str(rule.get("alert") or ""), str(rule.get("record") or "")
                expr = str(rule.get("expr") or "")
                labels = as_dict(rule.get("labels"))
                found = classify_rule(alert or record, expr, labels,
                                      as_dict(rule.get("annotations")))
                why = list(found.categories)
                if found.is_model:
                    self._ml_namespaces.add(ns)
                    signal = "monitoring.model_rule" if alert else "monitoring.model_metric"
                    attrs = {"group": gname, "rule": alert or record, "type": "alert" if alert else "record",
                             "severity": str(labels.get("severity") or ""), "matched": why}
                    yield self.ev(signal, Strength.CONFIGURED, self.loc(ns, kind, name, f"{gname}/{alert or record}"),
                                  attrs, excerpt=f"expr: {expr}")
                elif alert:
                    operational.append(alert)
                else:
                    records += 1
        if operational:
            yield self.ev("monitoring.operational_rule", Strength.CONFIGURED, self.loc(ns, kind, name),
                          {"alerts": len(operational), "names": capped(sorted(set(operational))),
                           "recording_rules": records})

    def _monitor(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        nsel = as_dict(dig(obj, "spec", "namespaceSelector"))
        namespaces = None if nsel.get("any") else ([str(n) for n in as_list(nsel.get("matchNames"))] or [ns])
        self._monitors.append(_Monitor(ns, kind, name, dig(obj, "spec", "selector", default={}), namespaces))
        return ()
