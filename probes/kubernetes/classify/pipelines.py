"""Schedules, pipelines and delivery: CronJobs, Argo and Kubeflow pipelines, Rollouts, GitOps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.evidence import Evidence, Strength

from ..objects import (
    as_dict,
    as_list,
    dig,
    labels_of,
)
from .base import ClassifierBase


class PipelinesHandlers(ClassifierBase):
    """CronJobs, Argo and Kubeflow pipelines and schedules, Rollouts, Argo CD and Flux."""

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
