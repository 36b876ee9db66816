"""State and helpers every handler shares, and the facts that need several kinds at once.

Handlers live in the domain modules beside this one; the kind table
(:mod:`probes.kubernetes.kinds`) names each kind's handler."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.evidence import Evidence, Strength
from auditor.probe import make_evidence
from auditor.refs import parse_image

from ..kinds import BY_KEY, PLATFORMS, KindSpec
from ..objects import (
    NamespaceFilter,
    as_dict,
    capped,
    condition_true,
    dig,
    gpu_requests,
    name_of,
    namespace_of,
    owner_keys,
    parse_time,
    selector_matches,
    to_int,
    walk_containers,
)

#: runs and schedules seen within this window count as operating
RECENT = timedelta(days=35)
MAX_IMAGES_PER_OBJECT = 20
SYSTEM_NAMESPACES = ("kube-*", "default", "*-system", "openshift*", "kubeflow", "cert-manager",
                     "monitoring", "argo", "argocd", "flux-system", "istio-*", "knative-*",
                     "local-path-storage", "ingress-nginx", "gatekeeper-*", "kyverno", "keda")
TEAM_LABELS = ("team", "app.kubernetes.io/team", "owner", "tenant")
SERVING_IMAGE_HINTS = ("tritonserver", "tensorflow/serving", "torchserve", "mlserver", "seldonio/",
                       "kserve/", "bentoml", "vllm", "text-generation-inference", "model_server",
                       "nvcr.io/nim", "huggingface/text-generation", "onnxruntime-server")
SERVING_LABEL_KEYS = ("serving.kserve.io/inferenceservice", "seldon-deployment-id",
                      "app.kubernetes.io/component=model-server", "app.kubernetes.io/component=predictor",
                      "app.kubernetes.io/component=inference")
GPU_KINDS_READY = ("readyReplicas", "availableReplicas", "active", "succeeded")


@dataclass
class _Serving:
    namespace: str
    kind: str
    name: str
    labels: dict[str, str]
    prefix: bool  # controllers name their Deployments "<name>-predictor..."


@dataclass
class _Scaler:
    namespace: str
    kind: str
    name: str
    target_kind: str
    target_name: str
    attrs: dict[str, Any]


@dataclass
class _Monitor:
    namespace: str
    kind: str
    name: str
    selector: Any
    namespaces: list[str] | None  # None: any namespace


@dataclass
class _Runs:
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    recent_ok: int = 0
    last: str = ""
    last_name: str = ""


@dataclass
class ClassifierBase:
    target: str
    cluster: str
    now: datetime
    namespaces: NamespaceFilter = field(default_factory=lambda: NamespaceFilter(None, None))

    def __post_init__(self) -> None:
        self._ns_labels: dict[str, dict[str, str]] = {}
        self._bindings: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        self._profiles: set[str] = set()
        self._ml_namespaces: set[str] = set()
        self._serving: list[_Serving] = []
        self._scalers: list[_Scaler] = []
        self._monitors: list[_Monitor] = []
        self._runs: dict[tuple[str, str], _Runs] = defaultdict(_Runs)
        self._reports: dict[tuple[str, str], list[int]] = {}

    def loc(self, ns: str, kind: str, name: str, fragment: str = "") -> str:
        base = f"k8s://{self.cluster}/{ns}/{kind}/{name}" if ns else f"k8s://{self.cluster}/{kind}/{name}"
        return f"{base}#{fragment}" if fragment else base

    def ev(self, signal: str, strength: Strength, locator: str, attributes: dict[str, Any],
           excerpt: str = "") -> Evidence:
        return make_evidence(self.target, signal, strength, locator, attributes, excerpt)

    @staticmethod
    def _owned(obj: Mapping) -> bool:
        """Created by a controller whose own object this probe lists (a CronJob's Jobs, the
        Knative Service of an InferenceService ...): that owner is reported instead."""
        return bool(owner_keys(obj) & BY_KEY.keys())

    def recent(self, *values: Any) -> bool:
        times = [t for t in (parse_time(v) for v in values) if t is not None]
        return bool(times) and self.now - max(times) <= RECENT

    def feed(self, spec: KindSpec, obj: Mapping) -> list[Evidence]:
        """Evidence from one object; objects in filtered-out namespaces give nothing."""
        if not isinstance(obj, Mapping):
            return []
        ns, name = namespace_of(obj), name_of(obj)
        if not name or not self.namespaces.allows(ns):
            return []
        if spec.kind == "Namespace" and not self.namespaces.allows(name):
            return []
        out: list[Evidence] = []
        if spec.handler:  # named in the kind table, defined in a domain module
            out.extend(getattr(self, f"_{spec.handler}")(obj, ns, name, spec.kind))
        if "image" in spec.signals and not (self._owned(obj)):
            out.extend(self._images(obj, ns, name, spec.kind))
            if "compute.gpu_workload" in spec.signals:
                out.extend(self._gpus(obj, ns, name, spec.kind))
        return out

    def version_evidence(self, info: Mapping) -> list[Evidence]:
        version = str(info.get("gitVersion") or "")
        if not version:
            return []
        attrs = {"tool": "kubernetes", "version": version}
        if info.get("platform"):
            attrs["platform"] = str(info["platform"])
        return [self.ev("platform.kubernetes", Strength.CONFIGURED, f"k8s://{self.cluster}/version",
                        attrs)]

    def platform_evidence(self, available: Iterable[tuple[str, str]]) -> list[Evidence]:
        """Installed platforms, from the (group, kind) pairs the cluster serves."""
        avail = set(available)
        groups = {g for g, _ in avail}
        out: list[Evidence] = []
        seen: set[tuple[str, str]] = set()
        for p in PLATFORMS:
            # only kinds the probe knows: aggregated and legacy discovery must agree
            kinds = sorted(k for g, k in avail if g == p.group and (g, k) in BY_KEY
                           and (not p.kinds or k in p.kinds))
            if p.group not in groups or not kinds or (p.tool, p.category) in seen:
                continue
            seen.add((p.tool, p.category))
            out.append(self.ev(f"tool.{p.category}", Strength.CONFIGURED,
                               f"k8s://{self.cluster}/apis/{p.group}",
                               {"tool": p.tool, "api_group": p.group, "kinds": capped(kinds)}))
            if p.tool == "trivy-operator":
                out.append(self.ev("security.scanning", Strength.CONFIGURED,
                                   f"k8s://{self.cluster}/apis/{p.group}",
                                   {"scanner": "trivy-operator", "installed": True}))
        return out

    def _images(self, obj: Mapping, ns: str, name: str, kind: str) -> list[Evidence]:
        out: list[Evidence] = []
        seen: set[tuple[str, str]] = set()
        for cname, container in walk_containers(obj.get("spec")):
            ref = parse_image(str(container.get("image")))
            if ref is None or (cname, ref.name) in seen:
                continue
            seen.add((cname, ref.name))
            if len(seen) > MAX_IMAGES_PER_OBJECT:
                break
            links = ref.keys
            attrs = {"tool": f"image:{ref.name}", "version": ref.version, "container": cname,
                     "digest_pinned": bool(ref.digest), "links_to": links}
            signal = "image.versioned" if ref.versioned else "image.unversioned"
            out.append(self.ev(signal, Strength.CONFIGURED, self.loc(ns, kind, name), attrs,
                               excerpt=f"image: {container.get('image')}"))
        return out

    def _gpus(self, obj: Mapping, ns: str, name: str, kind: str) -> list[Evidence]:
        gpus, resource = gpu_requests(obj.get("spec"))
        if not gpus:
            return []
        status = as_dict(obj.get("status"))
        running = any((to_int(status.get(k), 0) or 0) > 0 or (isinstance(status.get(k), list) and status.get(k))
                      for k in GPU_KINDS_READY) or condition_true(obj, "Ready")
        attrs = {"gpus": gpus, "resource": resource, "kind": kind}
        replicas = to_int(dig(obj, "spec", "replicas"))
        if replicas is not None:
            attrs["replicas"] = replicas
        if ns:
            self._ml_namespaces.add(ns)
        return [self.ev("compute.gpu_workload", Strength.OPERATING if running else Strength.CONFIGURED,
                        self.loc(ns, kind, name), attrs)]

    def _serving_target(self, ns: str, kind: str, name: str) -> _Serving | None:
        for s in self._serving:
            if s.namespace != ns:
                continue
            if s.name == name and (not kind or s.kind == kind or s.kind in ("InferenceService",)):
                return s
            if s.prefix and name.startswith(s.name + "-"):
                return s
        return None

    def finish(self) -> list[Evidence]:
        """Evidence that needs several kinds at once; call once after every object was fed."""
        out: list[Evidence] = []
        for sc in sorted(self._scalers, key=lambda s: (s.namespace, s.kind, s.name)):
            hit = self._serving_target(sc.namespace, sc.target_kind, sc.target_name)
            if hit is not None:
                out.append(self.ev("serving.autoscaling", Strength.CONFIGURED,
                                   self.loc(sc.namespace, sc.kind, sc.name),
                                   {**sc.attrs, "target": f"{sc.target_kind}/{sc.target_name}",
                                    "serving": f"{hit.kind}/{hit.name}"}))
        for mon in sorted(self._monitors, key=lambda m: (m.namespace, m.kind, m.name)):
            selected = sorted({f"{s.namespace}/{s.kind}/{s.name}" for s in self._serving
                               if (mon.namespaces is None or s.namespace in mon.namespaces)
                               and selector_matches(mon.selector, s.labels)})
            loc = self.loc(mon.namespace, mon.kind, mon.name)
            if selected:
                out.append(self.ev("monitoring.model_metric", Strength.CONFIGURED, loc,
                                   {"source": mon.kind, "selects": capped(selected),
                                    "count": len(selected)}))
            else:
                out.append(self.ev("monitoring.operational_metric", Strength.CONFIGURED, loc,
                                   {"source": mon.kind}))
        for (ns, pipeline), runs in sorted(self._runs.items()):
            out.append(self.ev("pipeline.execution",
                               Strength.OPERATING if runs.recent_ok else Strength.CONFIGURED,
                               self.loc(ns, "Workflow", runs.last_name),
                               {"engine": "argo-workflows", "pipeline": pipeline, "runs": runs.total,
                                "succeeded": runs.succeeded, "failed": runs.failed,
                                "recent_runs": runs.recent_ok, "last_run": runs.last}))
        for (ns, kind), (n, critical, high) in sorted(self._reports.items()):
            out.append(self.ev("security.scanning", Strength.OPERATING, f"k8s://{self.cluster}/{ns}/{kind}",
                               {"scanner": "trivy-operator", "kind": kind, "namespace": ns, "reports": n,
                                "critical": critical, "high": high}))
        out.extend(self._tenancy())
        return out

    def _team_of(self, ns: str) -> str | None:
        from fnmatch import fnmatchcase

        if any(fnmatchcase(ns, g) for g in SYSTEM_NAMESPACES):
            return None
        labels = self._ns_labels.get(ns, {})
        for key in TEAM_LABELS:
            if labels.get(key):
                return labels[key]
        if ns in self._profiles or labels.get("app.kubernetes.io/part-of") == "kubeflow-profile":
            return ns
        if any(humans for _, _, humans in self._bindings.get(ns, ())):
            return ns
        return None

    def _tenancy(self) -> list[Evidence]:
        out: list[Evidence] = []
        namespaces = sorted(set(self._ns_labels) | set(self._bindings) | self._profiles)
        teams: dict[str, str] = {}
        for ns in namespaces:
            team = self._team_of(ns)
            if team is None:
                continue
            teams[ns] = team
            scoped = [(n, r) for n, r, humans in self._bindings.get(ns, ()) if humans]
            if scoped and ns not in self._profiles:
                out.append(self.ev("security.access_control", Strength.CONFIGURED,
                                   self.loc("", "Namespace", ns),
                                   {"namespace": ns, "team": team, "role_bindings": len(scoped),
                                    "roles": capped(sorted({r for _, r in scoped}))}))
        distinct = sorted(set(teams.values()))
        if len(distinct) >= 2:
            active = sorted({teams[ns] for ns in teams if ns in self._ml_namespaces})
            out.append(self.ev("platform.shared", Strength.OPERATING if len(active) >= 2 else Strength.CONFIGURED,
                               f"k8s://{self.cluster}/namespaces",
                               {"teams": len(distinct), "team_names": capped(distinct),
                                "team_namespaces": len(teams), "active_teams": len(active)}))
        return out

