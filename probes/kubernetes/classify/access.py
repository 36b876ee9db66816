"""Namespaces, RBAC, quotas, queues, admission policies and scanners: who may do what, and within which limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.evidence import Evidence, Strength

from ..objects import (
    as_dict,
    as_list,
    capped,
    dig,
    labels_of,
    to_int,
)
from .base import ClassifierBase


class AccessHandlers(ClassifierBase):
    """Namespaces, role bindings, quotas, queues, network and admission policies, scan reports."""

    def _namespace(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        labels = labels_of(obj)
        self._ns_labels[name] = labels
        level = labels.get("pod-security.kubernetes.io/enforce")
        if level:
            yield self.ev("security.pod_security", Strength.CONFIGURED, self.loc("", kind, name),
                          {"namespace": name, "enforce": level,
                           "audit": labels.get("pod-security.kubernetes.io/audit", "")})

    def _quota(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        if kind == "ResourceQuota":
            hard = sorted(str(k) for k in as_dict(dig(obj, "spec", "hard")))
            attrs: dict[str, Any] = {"kind": kind, "namespace": ns, "limits": capped(hard),
                                     "gpu_quota": any("gpu" in h for h in hard)}
        else:
            types = sorted({str(item.get("type")) for item in as_list(dig(obj, "spec", "limits"))
                            if isinstance(item, Mapping)})
            attrs = {"kind": kind, "namespace": ns, "types": capped(types)}
        yield self.ev("cost.control", Strength.CONFIGURED, self.loc(ns, kind, name), attrs)

    def _queue(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        if kind == "ClusterQueue":
            resources = sorted({str(r.get("name")) for g in as_list(dig(obj, "spec", "resourceGroups"))
                                for f in as_list(as_dict(g).get("flavors"))
                                for r in as_list(as_dict(f).get("resources")) if isinstance(r, Mapping)})
            engine = "kueue"
        else:
            resources = sorted(str(k) for k in as_dict(dig(obj, "spec", "capability")))
            engine = "volcano"
        if resources:
            yield self.ev("cost.control", Strength.CONFIGURED, self.loc(ns, kind, name),
                          {"kind": kind, "engine": engine, "limits": capped(resources)})

    def _netpol(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        selector = as_dict(spec.get("podSelector"))
        types = sorted(str(t) for t in as_list(spec.get("policyTypes"))) or ["Ingress"]
        default_deny = not selector.get("matchLabels") and not selector.get("matchExpressions") \
            and not spec.get("ingress") and "Ingress" in types
        yield self.ev("security.network_policy", Strength.CONFIGURED, self.loc(ns, kind, name),
                      {"namespace": ns, "policy_types": types, "default_deny": default_deny})

    def _rolebinding(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        humans = sum(1 for s in as_list(obj.get("subjects"))
                     if isinstance(s, Mapping) and s.get("kind") in ("User", "Group"))
        role = str(dig(obj, "roleRef", "name", default=""))
        self._bindings[ns].append((name, role, humans))
        return ()

    def _clusterrolebinding(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        if dig(obj, "roleRef", "name") != "cluster-admin":
            return
        sas = sorted(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in as_list(obj.get("subjects"))
                     if isinstance(s, Mapping) and s.get("kind") == "ServiceAccount")
        if sas:
            yield self.ev("risk.cluster_admin_service_account", Strength.CONFIGURED,
                          self.loc("", kind, name),
                          {"binding": name, "role": "cluster-admin", "service_accounts": capped(sas),
                           "count": len(sas),
                           "system_only": all(s.startswith("kube-system/") for s in sas)})

    def _policy(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        if kind in ("ClusterPolicy", "Policy"):
            rules = [r for r in as_list(spec.get("rules")) if isinstance(r, Mapping)]
            action = str(spec.get("validationFailureAction") or
                         next((dig(r, "validate", "failureAction") for r in rules
                               if dig(r, "validate", "failureAction")), "Audit"))
            attrs: dict[str, Any] = {"engine": "kyverno", "kind": kind, "action": action,
                                     "rules": len(rules),
                                     "verify_images": any("verifyImages" in r for r in rules)}
        elif kind == "ConstraintTemplate":
            attrs = {"engine": "gatekeeper", "kind": kind,
                     "constraint_kind": str(dig(spec, "crd", "spec", "names", "kind", default=""))}
        else:
            attrs = {"engine": "kubernetes", "kind": kind,
                     "validations": len(as_list(spec.get("validations")))}
        yield self.ev("security.admission_policy", Strength.CONFIGURED, self.loc(ns, kind, name), attrs)

    def _profile(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        self._profiles.add(name)
        yield self.ev("security.access_control", Strength.CONFIGURED, self.loc("", kind, name),
                      {"namespace": name, "source": "kubeflow-profile"})

    def _trivy(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        counts = self._reports.setdefault((ns, kind), [0, 0, 0])
        summary = as_dict(dig(obj, "report", "summary"))
        counts[0] += 1
        counts[1] += to_int(summary.get("criticalCount"), 0) or 0
        counts[2] += to_int(summary.get("highCount"), 0) or 0
        return ()
