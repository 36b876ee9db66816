"""Turning Kubernetes objects into evidence. The one place that judges what an object shows.

Live listing and snapshot files both feed :class:`Classifier`, object by object, with the
object's API group and kind given explicitly (live list items of built-in kinds carry no
``kind``). Facts that need several kinds at once (an HPA scaling a serving workload, a
ServiceMonitor selecting one, team namespaces with RBAC) are kept as small records and
turned into evidence by :meth:`Classifier.finish`, so the result does not depend on the
order objects arrive in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.evidence import Evidence, Strength
from auditor.probe import make_evidence
from auditor.refs import model_key, parse_image
from auditor.rules import classify_rule

from .kinds import BY_KEY, PLATFORMS, KindSpec
from .objects import (
    NamespaceFilter,
    as_dict,
    as_list,
    capped,
    condition_true,
    dig,
    gpu_requests,
    labels_of,
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
class Classifier:
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
        self._handlers: dict[tuple[str, str], Callable[[Mapping, str, str, str], Iterable[Evidence]]] = {
            ("", "Namespace"): self._namespace,
            ("", "ResourceQuota"): self._quota,
            ("", "LimitRange"): self._quota,
            ("apps", "Deployment"): self._workload,
            ("apps", "StatefulSet"): self._workload,
            ("batch", "CronJob"): self._cronjob,
            ("autoscaling", "HorizontalPodAutoscaler"): self._hpa,
            ("keda.sh", "ScaledObject"): self._scaledobject,
            ("networking.k8s.io", "NetworkPolicy"): self._netpol,
            ("rbac.authorization.k8s.io", "RoleBinding"): self._rolebinding,
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"): self._clusterrolebinding,
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): self._policy,
            ("kyverno.io", "ClusterPolicy"): self._policy,
            ("kyverno.io", "Policy"): self._policy,
            ("templates.gatekeeper.sh", "ConstraintTemplate"): self._policy,
            ("serving.kserve.io", "InferenceService"): self._isvc,
            ("machinelearning.seldon.io", "SeldonDeployment"): self._seldon,
            ("mlops.seldon.io", "Model"): self._seldon_model,
            ("ray.io", "RayService"): self._rayservice,
            ("serving.knative.dev", "Service"): self._knative,
            ("kubeflow.org", "Notebook"): self._notebook,
            ("kubeflow.org", "Profile"): self._profile,
            ("kubeflow.org", "Experiment"): self._katib,
            ("argoproj.io", "Workflow"): self._workflow,
            ("argoproj.io", "CronWorkflow"): self._cronworkflow,
            ("argoproj.io", "WorkflowTemplate"): self._pipeline_def,
            ("argoproj.io", "ClusterWorkflowTemplate"): self._pipeline_def,
            ("pipelines.kubeflow.org", "Pipeline"): self._pipeline_def,
            ("pipelines.kubeflow.org", "ScheduledWorkflow"): self._kfp_schedule,
            ("argoproj.io", "Rollout"): self._rollout,
            ("argoproj.io", "Application"): self._argocd,
            ("kustomize.toolkit.fluxcd.io", "Kustomization"): self._flux,
            ("helm.toolkit.fluxcd.io", "HelmRelease"): self._flux,
            ("monitoring.coreos.com", "PrometheusRule"): self._prometheusrule,
            ("monitoring.coreos.com", "ServiceMonitor"): self._monitor,
            ("monitoring.coreos.com", "PodMonitor"): self._monitor,
            ("feast.dev", "FeatureStore"): self._featurestore,
            ("kueue.x-k8s.io", "ClusterQueue"): self._queue,
            ("scheduling.volcano.sh", "Queue"): self._queue,
            ("aquasecurity.github.io", "VulnerabilityReport"): self._trivy,
            ("aquasecurity.github.io", "ConfigAuditReport"): self._trivy,
        }
        for kind in ("PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob"):
            self._handlers[("kubeflow.org", kind)] = self._training_job
        self._handlers[("trainer.kubeflow.org", "TrainJob")] = self._training_job
        self._handlers[("ray.io", "RayCluster")] = self._raycluster
        self._handlers[("ray.io", "RayJob")] = self._rayjob

    # ---- helpers -------------------------------------------------------------------------

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

    # ---- entry points --------------------------------------------------------------------

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
        handler = self._handlers.get(spec.key)
        if handler is not None:
            out.extend(handler(obj, ns, name, spec.kind))
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

    # ---- images and GPUs -----------------------------------------------------------------

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

    # ---- namespaces, RBAC, quotas, policies ----------------------------------------------

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

    # ---- scheduling and pipelines --------------------------------------------------------

    def _schedule(self, ns: str, kind: str, name: str, schedule: str, suspended: bool,
                  last: Any, extra: dict[str, Any] | None = None, success: Any = None) -> Evidence:
        operating = not suspended and self.recent(last, success)
        attrs = {"kind": kind, "schedule": schedule, "suspended": suspended,
                 "last_schedule_time": str(last or ""), **(extra or {})}
        return self.ev("schedule.job", Strength.OPERATING if operating else Strength.CONFIGURED,
                       self.loc(ns, kind, name), attrs, excerpt=f"schedule: {schedule}")

    def _cronjob(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        status = as_dict(obj.get("status"))
        extra = {"time_zone": str(dig(obj, "spec", "timeZone", default="")),
                 "last_successful_time": str(status.get("lastSuccessfulTime") or "")}
        yield self._schedule(ns, kind, name, str(dig(obj, "spec", "schedule", default="")),
                             bool(dig(obj, "spec", "suspend")), status.get("lastScheduleTime"), extra,
                             success=status.get("lastSuccessfulTime"))

    def _cronworkflow(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        schedule = str(spec.get("schedule") or ",".join(str(s) for s in as_list(spec.get("schedules"))))
        self._ml_namespaces.add(ns)
        yield self._schedule(ns, kind, name, schedule, bool(spec.get("suspend")),
                             dig(obj, "status", "lastScheduledTime"), {"engine": "argo-workflows"})
        steps = len(as_list(dig(spec, "workflowSpec", "templates")))
        yield self.ev("pipeline.definition", Strength.CONFIGURED, self.loc(ns, kind, name),
                      {"engine": "argo-workflows", "kind": kind, "templates": steps, "scheduled": True})

    def _kfp_schedule(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        trigger = as_dict(dig(obj, "spec", "trigger"))
        schedule = str(dig(trigger, "cronSchedule", "cron", default="") or
                       (f"every {dig(trigger, 'periodicSchedule', 'intervalSecond')}s"
                        if dig(trigger, "periodicSchedule") else ""))
        enabled = dig(obj, "spec", "enabled", default=True)
        self._ml_namespaces.add(ns)
        yield self._schedule(ns, kind, name, schedule, not bool(enabled),
                             dig(obj, "status", "trigger", "lastTriggeredTime"),
                             {"engine": "kubeflow-pipelines"})
        yield self.ev("pipeline.definition", Strength.CONFIGURED, self.loc(ns, kind, name),
                      {"engine": "kubeflow-pipelines", "kind": kind, "scheduled": True})

    def _pipeline_def(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        engine = "kubeflow-pipelines" if kind == "Pipeline" else "argo-workflows"
        attrs: dict[str, Any] = {"engine": engine, "kind": kind, "scheduled": False}
        if engine == "argo-workflows":
            attrs["templates"] = len(as_list(dig(obj, "spec", "templates")))
        if ns:
            self._ml_namespaces.add(ns)
        yield self.ev("pipeline.definition", Strength.CONFIGURED, self.loc(ns, kind, name), attrs)

    def _workflow(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        """Workflows are runs: counted per (namespace, pipeline), reported by :meth:`finish`."""
        labels = labels_of(obj)
        pipeline = (str(dig(obj, "spec", "workflowTemplateRef", "name", default="")) or
                    labels.get("workflows.argoproj.io/cron-workflow") or
                    labels.get("pipeline/runid") and "kubeflow-pipeline-run" or
                    str(dig(obj, "metadata", "generateName", default="")).rstrip("-") or name)
        phase = str(dig(obj, "status", "phase", default=""))
        when = dig(obj, "status", "finishedAt") or dig(obj, "status", "startedAt") or ""
        runs = self._runs[(ns, pipeline)]
        runs.total += 1
        runs.succeeded += phase == "Succeeded"
        runs.failed += phase in ("Failed", "Error")
        if phase in ("Succeeded", "Running") and self.recent(when):
            runs.recent_ok += 1
        if (str(when), name) > (runs.last, runs.last_name):
            runs.last, runs.last_name = str(when), name
        self._ml_namespaces.add(ns)
        return ()

    # ---- serving -------------------------------------------------------------------------

    def _serving_ev(self, ns: str, kind: str, name: str, ready: bool, attrs: dict[str, Any],
                    labels: dict[str, str], prefix: bool) -> Evidence:
        self._serving.append(_Serving(ns, kind, name, labels, prefix))
        self._ml_namespaces.add(ns)
        attrs = {"ready": ready, **attrs}
        return self.ev("serving.deployment", Strength.OPERATING if ready else Strength.CONFIGURED,
                       self.loc(ns, kind, name), attrs)

    @staticmethod
    def _model_links(*uris: str) -> list[str]:
        links = []
        for uri in uris:
            if uri.startswith("models:/"):
                model = uri.removeprefix("models:/").split("/", 1)[0].split("@", 1)[0]
                if model:
                    links.append(model_key(model))
        return sorted(set(links))

    def _isvc(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        predictor = as_dict(spec.get("predictor"))
        model = as_dict(predictor.get("model"))
        fmt = str(dig(model, "modelFormat", "name", default=""))
        uris = [str(model.get("storageUri") or "")]
        if not fmt:  # legacy predictor spec: {sklearn: {storageUri}} ...
            for key, value in predictor.items():
                if isinstance(value, Mapping) and "storageUri" in value:
                    fmt, uris = key, [str(value.get("storageUri") or "")]
                    break
        min_r = to_int(predictor.get("minReplicas"))
        max_r = to_int(predictor.get("maxReplicas"))
        canary = to_int(predictor.get("canaryTrafficPercent"))
        logger = as_dict(predictor.get("logger"))
        explainer = as_dict(spec.get("explainer"))
        ready = condition_true(obj, "Ready")
        attrs: dict[str, Any] = {
            "platform": "kserve", "model_format": fmt, "storage_uri": uris[0],
            "runtime": str(model.get("runtime") or ""), "logger": bool(logger),
            "explainer": bool(explainer), "transformer": bool(spec.get("transformer")),
        }
        for key, value in (("min_replicas", min_r), ("max_replicas", max_r),
                           ("canary_traffic_percent", canary)):
            if value is not None:
                attrs[key] = value
        links = self._model_links(*uris)
        if links:
            attrs["links_to"] = links
        labels = {**labels_of(obj), "serving.kserve.io/inferenceservice": name, "component": "predictor"}
        yield self._serving_ev(ns, kind, name, ready, attrs, labels, prefix=True)
        loc = self.loc(ns, kind, name)
        if (max_r is not None and max_r > (min_r if min_r is not None else 1)) or min_r == 0 \
                or predictor.get("scaleMetric") or predictor.get("scaleTarget"):
            yield self.ev("serving.autoscaling", Strength.CONFIGURED, loc,
                          {"autoscaler": "kserve", "min_replicas": min_r if min_r is not None else 1,
                           "max_replicas": max_r if max_r is not None else 0,
                           "metric": str(predictor.get("scaleMetric") or "")})
        if canary is not None:
            yield self.ev("serving.canary", Strength.CONFIGURED, loc,
                          {"platform": "kserve", "traffic_percent": canary})
        if explainer:
            etype = next((k for k in explainer if k not in ("minReplicas", "maxReplicas", "containers")),
                         "custom")
            yield self.ev("explainability.check", Strength.OPERATING if ready else Strength.CONFIGURED,
                          loc, {"platform": "kserve", "explainer": str(etype)})
        if logger:
            yield self.ev("monitoring.model_metric", Strength.CONFIGURED, loc,
                          {"source": "kserve-logger", "mode": str(logger.get("mode") or "all")})

    def _seldon(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        predictors = [p for p in as_list(dig(obj, "spec", "predictors")) if isinstance(p, Mapping)]
        uris: list[str] = []

        def graph_uris(node: Any, depth: int = 0) -> None:
            if isinstance(node, Mapping) and depth < 20:
                if node.get("modelUri"):
                    uris.append(str(node["modelUri"]))
                for child in as_list(node.get("children")):
                    graph_uris(child, depth + 1)

        for p in predictors:
            graph_uris(p.get("graph"))
        ready = str(dig(obj, "status", "state", default="")) == "Available"
        attrs: dict[str, Any] = {"platform": "seldon", "predictors": len(predictors),
                                 "model_uris": capped(sorted(set(uris)), 5)}
        links = self._model_links(*uris)
        if links:
            attrs["links_to"] = links
        labels = {**labels_of(obj), "seldon-deployment-id": name}
        yield self._serving_ev(ns, kind, name, ready, attrs, labels, prefix=True)
        loc = self.loc(ns, kind, name)
        traffic = [to_int(p.get("traffic")) for p in predictors if p.get("traffic") is not None]
        if len(predictors) > 1 and traffic:
            yield self.ev("serving.canary", Strength.CONFIGURED, loc,
                          {"platform": "seldon", "traffic_percent": min(t or 0 for t in traffic)})
        scaled = [c for p in predictors for c in as_list(p.get("componentSpecs"))
                  if isinstance(c, Mapping) and (c.get("hpaSpec") or c.get("kedaSpec"))]
        if scaled:
            yield self.ev("serving.autoscaling", Strength.CONFIGURED, loc,
                          {"autoscaler": "keda" if any(c.get("kedaSpec") for c in scaled) else "hpa",
                           "platform": "seldon"})
        explainers = [p.get("explainer") for p in predictors if isinstance(p.get("explainer"), Mapping)]
        if explainers:
            yield self.ev("explainability.check", Strength.OPERATING if ready else Strength.CONFIGURED,
                          loc, {"platform": "seldon",
                                "explainer": str(explainers[0].get("type") or "custom")})

    def _seldon_model(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        uri = str(spec.get("storageUri") or "")
        ready = condition_true(obj, "Ready") or condition_true(obj, "ModelReady")
        attrs: dict[str, Any] = {"platform": "seldon-core-v2", "storage_uri": uri,
                                 "requirements": capped([str(r) for r in as_list(spec.get("requirements"))], 5)}
        links = self._model_links(uri)
        if links:
            attrs["links_to"] = links
        yield self._serving_ev(ns, kind, name, ready, attrs, labels_of(obj), prefix=False)
        loc = self.loc(ns, kind, name)
        min_r, max_r = to_int(spec.get("minReplicas")), to_int(spec.get("maxReplicas"))
        if max_r is not None and max_r > (min_r or 1):
            yield self.ev("serving.autoscaling", Strength.CONFIGURED, loc,
                          {"autoscaler": "seldon", "min_replicas": min_r or 1, "max_replicas": max_r})
        if isinstance(spec.get("explainer"), Mapping):
            yield self.ev("explainability.check", Strength.CONFIGURED, loc,
                          {"platform": "seldon-core-v2",
                           "explainer": str(dig(spec, "explainer", "type", default="custom"))})

    def _rayservice(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        status = str(dig(obj, "status", "serviceStatus", default=""))
        ready = status == "Running" or condition_true(obj, "Ready")
        yield self._serving_ev(ns, kind, name, ready, {"platform": "ray-serve"}, labels_of(obj),
                               prefix=True)
        if dig(obj, "spec", "rayClusterConfig", "enableInTreeAutoscaling"):
            yield self.ev("serving.autoscaling", Strength.CONFIGURED, self.loc(ns, kind, name),
                          {"autoscaler": "ray"})

    def _knative(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        if self._owned(obj):  # created by KServe: the InferenceService is reported
            return
        ready = condition_true(obj, "Ready")
        ann = as_dict(dig(obj, "spec", "template", "metadata", "annotations"))
        min_s = to_int(ann.get("autoscaling.knative.dev/min-scale", ann.get("autoscaling.knative.dev/minScale")))
        max_s = to_int(ann.get("autoscaling.knative.dev/max-scale", ann.get("autoscaling.knative.dev/maxScale")))
        yield self._serving_ev(ns, kind, name, ready, {"platform": "knative"},
                               {**labels_of(obj), "serving.knative.dev/service": name}, prefix=True)
        if not (min_s is not None and max_s is not None and min_s == max_s):
            yield self.ev("serving.autoscaling", Strength.CONFIGURED, self.loc(ns, kind, name),
                          {"autoscaler": "knative", "min_scale": min_s if min_s is not None else 0,
                           "max_scale": max_s if max_s is not None else 0})

    def _workload(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        """Deployments/StatefulSets that are model servers (by labels or server image)."""
        labels = {**labels_of(obj), **labels_of(obj, "spec", "template", "metadata")}
        images = [str(c.get("image")) for _, c in walk_containers(dig(obj, "spec", "template"))]
        runtime = next((h.rstrip("/") for h in SERVING_IMAGE_HINTS for i in images if h in i.lower()), "")
        by_label = next((k for k in SERVING_LABEL_KEYS
                         if ("=" in k and labels.get(k.split("=")[0]) == k.split("=")[1])
                         or ("=" not in k and k in labels)), "")
        if not runtime and not by_label:
            return
        if self._owned(obj) or by_label.startswith(("serving.kserve.io", "seldon-")):
            # generated by KServe/Seldon: remembered for HPA/monitor matching, not reported twice
            self._serving.append(_Serving(ns, kind, name, labels, prefix=False))
            return
        ready = (to_int(dig(obj, "status", "readyReplicas"), 0) or 0) > 0
        attrs = {"platform": kind.lower(), "runtime": runtime or by_label,
                 "replicas": to_int(dig(obj, "spec", "replicas"), 1)}
        yield self._serving_ev(ns, kind, name, ready, attrs, labels, prefix=False)

    def _hpa(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        metrics = sorted({str(m.get("type")) for m in as_list(spec.get("metrics")) if isinstance(m, Mapping)})
        if not metrics and spec.get("targetCPUUtilizationPercentage") is not None:
            metrics = ["Resource"]
        self._scalers.append(_Scaler(ns, kind, name, str(dig(spec, "scaleTargetRef", "kind", default="")),
                                     str(dig(spec, "scaleTargetRef", "name", default="")),
                                     {"autoscaler": "hpa", "min_replicas": to_int(spec.get("minReplicas"), 1),
                                      "max_replicas": to_int(spec.get("maxReplicas"), 0),
                                      "metrics": metrics}))
        return ()

    def _scaledobject(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        triggers = sorted({str(t.get("type")) for t in as_list(spec.get("triggers")) if isinstance(t, Mapping)})
        self._scalers.append(_Scaler(ns, kind, name,
                                     str(dig(spec, "scaleTargetRef", "kind", default="Deployment")),
                                     str(dig(spec, "scaleTargetRef", "name", default="")),
                                     {"autoscaler": "keda",
                                      "min_replicas": to_int(spec.get("minReplicaCount"), 0),
                                      "max_replicas": to_int(spec.get("maxReplicaCount"), 100),
                                      "triggers": capped(triggers)}))
        return ()

    # ---- notebooks, training -------------------------------------------------------------

    def _notebook(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        ready = (to_int(dig(obj, "status", "readyReplicas"), 0) or 0) > 0 or condition_true(obj, "Ready")
        self._ml_namespaces.add(ns)
        images = [str(c.get("image")) for _, c in walk_containers(obj.get("spec"))][:1]
        yield self.ev("compute.notebook_server", Strength.OPERATING if ready else Strength.CONFIGURED,
                      self.loc(ns, kind, name),
                      {"platform": "kubeflow", "namespace": ns, "ready": ready,
                       "image": images[0] if images else ""})

    def _distributed(self, ns: str, kind: str, name: str, running: bool, attrs: dict[str, Any]) -> Evidence:
        self._ml_namespaces.add(ns)
        return self.ev("distributed.workload", Strength.OPERATING if running else Strength.CONFIGURED,
                       self.loc(ns, kind, name), {"kind": kind, **attrs})

    def _training_job(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        replicas = 0
        for key, value in spec.items():
            if key.endswith("ReplicaSpecs") and isinstance(value, Mapping):
                replicas += sum(to_int(as_dict(r).get("replicas"), 1) or 0 for r in value.values())
        if kind == "TrainJob":
            replicas = to_int(dig(spec, "trainer", "numNodes"), 1) or 1
        running = any(condition_true(obj, t) for t in ("Running", "Succeeded", "Complete"))
        yield self._distributed(ns, kind, name, running, {"framework": kind.removesuffix("Job").lower(),
                                                          "replicas": replicas})

    def _raycluster(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        if self._owned(obj):  # RayJob/RayService clusters are reported by their owner
            return
        workers = sum(to_int(as_dict(g).get("replicas"), 0) or 0
                      for g in as_list(dig(obj, "spec", "workerGroupSpecs")))
        running = str(dig(obj, "status", "state", default="")).lower() == "ready"
        yield self._distributed(ns, kind, name, running, {"framework": "ray", "replicas": workers + 1})

    def _rayjob(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        status = str(dig(obj, "status", "jobStatus", default=""))
        yield self._distributed(ns, kind, name, status in ("RUNNING", "SUCCEEDED"),
                                {"framework": "ray", "status": status})

    def _katib(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        algo = str(dig(obj, "spec", "algorithm", "algorithmName", default=""))
        done = condition_true(obj, "Succeeded") or condition_true(obj, "Running")
        yield self.ev("tuning.experiment", Strength.OPERATING if done else Strength.CONFIGURED,
                      self.loc(ns, kind, name), {"platform": "katib", "algorithm": algo})

    # ---- delivery ------------------------------------------------------------------------

    def _rollout(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        strategy = next(iter(as_dict(dig(obj, "spec", "strategy"))), "")
        yield self.ev("deploy.progressive", Strength.CONFIGURED, self.loc(ns, kind, name),
                      {"engine": "argo-rollouts", "strategy": str(strategy)})

    def _argocd(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        spec = as_dict(obj.get("spec"))
        source = as_dict(spec.get("source")) or as_dict(next(iter(as_list(spec.get("sources"))), {}))
        automated = isinstance(dig(spec, "syncPolicy", "automated"), Mapping)
        yield self.ev("ci.deploy_step", Strength.CONFIGURED if automated else Strength.DECLARED,
                      self.loc(ns, kind, name),
                      {"gitops": "argo-cd", "automated": automated,
                       "repo": str(source.get("repoURL") or ""), "path": str(source.get("path") or ""),
                       "destination_namespace": str(dig(spec, "destination", "namespace", default=""))})

    def _flux(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        suspended = bool(dig(obj, "spec", "suspend"))
        yield self.ev("ci.deploy_step", Strength.DECLARED if suspended else Strength.CONFIGURED,
                      self.loc(ns, kind, name),
                      {"gitops": "flux", "kind": kind, "automated": not suspended,
                       "source": str(dig(obj, "spec", "sourceRef", "name", default="") or
                                     dig(obj, "spec", "chart", "spec", "sourceRef", "name", default=""))})

    # ---- monitoring ----------------------------------------------------------------------

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

    # ---- features, scanning --------------------------------------------------------------

    def _featurestore(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        ready = str(dig(obj, "status", "phase", default="")) == "Ready" or condition_true(obj, "Ready")
        self._ml_namespaces.add(ns)
        yield self.ev("feature_store.definition", Strength.OPERATING if ready else Strength.CONFIGURED,
                      self.loc(ns, kind, name),
                      {"tool": "feast", "project": str(dig(obj, "spec", "feastProject", default=""))})

    def _trivy(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        counts = self._reports.setdefault((ns, kind), [0, 0, 0])
        summary = as_dict(dig(obj, "report", "summary"))
        counts[0] += 1
        counts[1] += to_int(summary.get("criticalCount"), 0) or 0
        counts[2] += to_int(summary.get("highCount"), 0) or 0
        return ()

    # ---- cross-kind facts ----------------------------------------------------------------

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
