"""Model serving and its scaling: KServe, Seldon, Ray Serve, Knative, serving Deployments, HPA and KEDA."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.evidence import Evidence, Strength
from auditor.refs import model_key

from ..objects import (
    as_dict,
    as_list,
    capped,
    condition_true,
    dig,
    labels_of,
    to_int,
    walk_containers,
)
from .base import SERVING_IMAGE_HINTS, SERVING_LABEL_KEYS, ClassifierBase, _Scaler, _Serving


class ServingHandlers(ClassifierBase):
    """Model servers and what scales them (the scaler is matched to its target in ``finish``)."""

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
