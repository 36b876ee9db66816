"""Notebooks, distributed training, tuning and feature stores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.evidence import Evidence, Strength

from ..objects import (
    as_dict,
    as_list,
    condition_true,
    dig,
    to_int,
    walk_containers,
)
from .base import ClassifierBase


class TrainingHandlers(ClassifierBase):
    """Notebook servers, distributed training jobs, Ray clusters and jobs, Katib, Feast."""

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

    def _featurestore(self, obj: Mapping, ns: str, name: str, kind: str) -> Iterable[Evidence]:
        ready = str(dig(obj, "status", "phase", default="")) == "Ready" or condition_true(obj, "Ready")
        self._ml_namespaces.add(ns)
        yield self.ev("feature_store.definition", Strength.OPERATING if ready else Strength.CONFIGURED,
                      self.loc(ns, kind, name),
                      {"tool": "feast", "project": str(dig(obj, "spec", "feastProject", default=""))})
