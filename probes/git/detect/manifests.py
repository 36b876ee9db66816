"""Deployment configuration kept in the repository: Kubernetes manifests (built-in kinds and
KServe, Seldon, Argo, Kubeflow, Ray, Spark custom resources), Helm charts, Kustomize,
Prometheus rule files and Alertmanager configuration."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.evidence import Evidence, Strength
from probes.git.declare import Detector, Files
from probes.git.detect.words import serves, trains
from probes.git.scan import Scan
from probes.git.tree import Entry
from probes.git.yamlines import LDict, LList, ParseError, load_yaml_all

C, D = Strength.CONFIGURED, Strength.DECLARED

#: kind → (signal, tool) emitted for every object of that kind
KIND_SIGNALS: dict[str, list[tuple[str, str]]] = {
    "InferenceService": [("serving.deployment", "kserve")],
    "ServingRuntime": [("serving.runtime", "kserve")],
    "InferenceGraph": [("serving.deployment", "kserve")],
    "SeldonDeployment": [("serving.deployment", "seldon")],
    "BentoDeployment": [("serving.deployment", "bentoml")],
    "RayService": [("serving.deployment", "ray-serve"), ("distributed.workload", "ray")],
    "HorizontalPodAutoscaler": [("serving.autoscaling", "hpa")],
    "ScaledObject": [("serving.autoscaling", "keda")],
    "VerticalPodAutoscaler": [("serving.autoscaling", "vpa")],
    "CronJob": [("schedule.job", "kubernetes")],
    "CronWorkflow": [("schedule.job", "argo"), ("pipeline.definition", "argo")],
    "ScheduledSparkApplication": [("schedule.job", "spark-operator"),
                                  ("distributed.workload", "spark")],
    "Workflow": [("pipeline.definition", "argo")],
    "WorkflowTemplate": [("pipeline.definition", "argo")],
    "ClusterWorkflowTemplate": [("pipeline.definition", "argo")],
    "Pipeline": [("pipeline.definition", "tekton")],
    "PipelineRun": [("pipeline.definition", "tekton")],
    "PyTorchJob": [("distributed.workload", "kubeflow-training")],
    "TFJob": [("distributed.workload", "kubeflow-training")],
    "MPIJob": [("distributed.workload", "kubeflow-training")],
    "XGBoostJob": [("distributed.workload", "kubeflow-training")],
    "PaddleJob": [("distributed.workload", "kubeflow-training")],
    "JAXJob": [("distributed.workload", "kubeflow-training")],
    "TrainJob": [("distributed.workload", "kubeflow-trainer")],
    "RayJob": [("distributed.workload", "ray")],
    "RayCluster": [("distributed.workload", "ray")],
    "SparkApplication": [("distributed.workload", "spark")],
    "DaskCluster": [("distributed.workload", "dask")],
    "DaskJob": [("distributed.workload", "dask")],
    "Notebook": [("compute.notebook_server", "kubeflow")],
    "NetworkPolicy": [("security.network_policy", "kubernetes")],
    "CiliumNetworkPolicy": [("security.network_policy", "cilium")],
    "AuthorizationPolicy": [("security.network_policy", "istio")],
    "PeerAuthentication": [("security.encryption", "istio")],
    "Role": [("security.access_control", "kubernetes")],
    "ClusterRole": [("security.access_control", "kubernetes")],
    "RoleBinding": [("security.access_control", "kubernetes")],
    "ClusterRoleBinding": [("security.access_control", "kubernetes")],
    "ResourceQuota": [("cost.control", "kubernetes")],
    "LimitRange": [("cost.control", "kubernetes")],
    "EncryptionConfiguration": [("security.encryption", "kubernetes")],
    "FeatureStore": [("feature_store.definition", "feast")],
    "ServiceMonitor": [("monitoring.scrape", "prometheus-operator")],
    "PodMonitor": [("monitoring.scrape", "prometheus-operator")],
    "Experiment": [("tuning.experiment", "katib")],
}
_WORKLOADS = {"Deployment", "StatefulSet", "Service"}  # Service: knative



def candidates(scan: Scan) -> list[Entry]:
    """YAML files the shared grep found with manifest, rule-file or Azure ML lines, except
    those another detector declares (workflows, compose files, conda environments ...); a
    CloudFormation template is read by the IaC detector instead."""
    out = []
    for path in sorted(scan.grep_hits()):
        entry = scan.tree.get(path)
        if entry is None or not is_yaml(entry) or scan.claimed_elsewhere(path) or \
                DETECTOR.files.matches(path.lower()):  # Chart.yaml, values.yaml: read as a chart
            continue
        if path in scan.facts["cloudformation"]:
            continue
        out.append(entry)
    return out


def is_yaml(e: Entry) -> bool:
    return e.name.lower().endswith((".yaml", ".yml"))


def detect(scan: Scan) -> Iterator[Evidence]:
    for entry in scan.find(lambda e: e.name in ("Chart.yaml",)):
        yield from _chart(scan, entry)
    for entry in candidates(scan):
        text = scan.text(entry)
        if text is None:
            continue
        templated = "{{" in text
        text_for_yaml = _detemplate(text) if templated else text
        try:
            docs = load_yaml_all(text_for_yaml)
        except ParseError as exc:
            if templated:
                yield from _kinds_by_regex(scan, entry, text)
            else:
                scan.note(entry.path, str(exc))
            continue
        kinds: list[str] = []
        for doc in docs:
            if not isinstance(doc, LDict):
                continue
            yield from _document(scan, entry, doc, kinds, text)
        if kinds:
            yield scan.ev("deploy.manifest", C, entry.path, 1, tool="helm" if templated else "kubernetes",
                          kinds=sorted(set(kinds))[:20], objects=len(kinds))


def _detemplate(text: str) -> str:
    """Helm template → YAML good enough to read kinds and images: control lines dropped,
    expressions replaced by a placeholder."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{{") and stripped.endswith("}}") and ":" not in stripped:
            out.append("")
            continue
        out.append(re.sub(r"\{\{-?.*?-?\}\}", "TEMPLATED", line))
    return "\n".join(out)


def _kinds_by_regex(scan: Scan, entry: Entry, text: str) -> Iterator[Evidence]:
    kinds = []
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^kind:\s*(\w+)", line)
        if m:
            kinds.append(m.group(1))
            for signal, tool in KIND_SIGNALS.get(m.group(1), []):
                yield scan.ev(signal, C, entry.path, n, line, tool=tool, kind=m.group(1))
    if kinds:
        yield scan.ev("deploy.manifest", C, entry.path, 1, tool="helm", kinds=sorted(set(kinds))[:20],
                      objects=len(kinds))


def _document(scan: Scan, entry: Entry, doc: LDict, kinds: list[str], text: str) -> Iterator[Evidence]:
    kind = doc.get("kind")
    if "azureml" in str(doc.get("$schema", "")) or "computeType" in doc:
        yield from _azureml(scan, entry, doc)
    elif isinstance(kind, str) and doc.get("apiVersion"):
        kinds.append(kind)
        yield from _k8s_object(scan, entry, doc, kind, text)
    elif isinstance(doc.get("groups"), list):
        yield from _prometheus_rules(scan, entry, doc.get("groups"))
    elif isinstance(doc.get("receivers"), list) and "route" in doc:
        yield from _alertmanager(scan, entry, doc)
    elif "pipelineInfo" in doc and "deploymentSpec" in doc:
        yield scan.ev("pipeline.definition", C, entry.path, doc.line, tool="kubeflow-pipelines",
                      name=str((doc.get("pipelineInfo") or {}).get("name", ""))[:100])


def _k8s_object(scan: Scan, entry: Entry, doc: LDict, kind: str, text: str) -> Iterator[Evidence]:
    from auditor.refs import model_key, parse_image  # for manifests only
    from auditor.rules import starts_remediation

    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = str(meta.get("name", ""))
    line = doc.line
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    api = str(doc.get("apiVersion", ""))
    base = {"kind": kind, "name": name, "api_version": api}
    images = _images(doc)
    model_refs = sorted(set(re.findall(r"models:/([A-Za-z0-9_.-]+)", _flat(doc))))
    # images link through their own image.* evidence below; the workload links to models
    links = [model_key(m) for m in model_refs]
    signals = list(KIND_SIGNALS.get(kind, []))
    if kind == "Pipeline" and "tekton" not in api:
        signals = []
    if kind == "Experiment" and "kubeflow" not in api:
        signals = []
    hint = f"{name} {_flat(meta.get('labels'))} {' '.join(i.raw for i in images)} {_commands(doc)}"
    if kind in _WORKLOADS and (kind != "Service" or "knative" in api) and serves(hint):
        signals.append(("serving.deployment", "knative" if kind == "Service" else "kubernetes"))
        if kind == "Service":
            signals.append(("serving.autoscaling", "knative"))
    for signal, tool in signals:
        attrs = dict(base, tool=tool)
        if signal.startswith("serving.") or signal == "schedule.job":
            attrs["links_to"] = links[:20]
            attrs["images"] = [i.name for i in images][:10]
        if kind in ("CronJob", "CronWorkflow", "ScheduledSparkApplication"):
            attrs["schedule"] = str(spec.get("schedule", ""))
            if signal == "schedule.job":
                attrs["trains"] = trains(f"{name} {_commands(doc)} {_template_names(doc)}")
                if spec.get("suspend") is True:
                    continue  # a suspended schedule runs nothing
        yield scan.ev(signal, C, entry.path, line, f"kind: {kind} name: {name}", **attrs)
    if kind in ("InferenceService", "SeldonDeployment"):
        flat = _flat(spec)
        if re.search(r"\blogger\b", flat):  # request/response logging of the served model
            yield scan.ev("monitoring.prediction_log", C, entry.path, line, f"{kind} {name} logger",
                          tool=kind.lower(), **base)
        if "explainer" in flat:
            yield scan.ev("explainability.check", C, entry.path, line, f"{kind} {name} explainer",
                          tool=kind.lower(), **base)
        if re.search(r"maxReplicas|minReplicas|hpaSpec|autoscal|scaleTarget|scaleMetric", flat + _flat(meta)):
            yield scan.ev("serving.autoscaling", C, entry.path, line, f"{kind} {name}", tool=kind.lower(),
                          **base)
    if kind == "PrometheusRule":
        yield from _prometheus_rules(scan, entry, spec.get("groups") or [])
    if kind == "AlertmanagerConfig":
        yield from _alertmanager(scan, entry, spec)
    if kind == "Sensor" and "argoproj" in api and starts_remediation(_flat(doc)) and \
            re.search(r"retrain|rollback|drift|alert", _flat(doc), re.I):
        yield scan.ev("remediation.trigger", C, entry.path, line, f"Sensor {name}", tool="argo-events", **base)
    if kind == "Application" and "argoproj" in api:
        automated = isinstance(spec.get("syncPolicy"), dict) and "automated" in spec["syncPolicy"]
        yield scan.ev("ci.deploy_step" if automated else "deploy.gitops", C, entry.path, line,
                      f"Argo CD Application {name}", tool="argocd", source="gitops", **base)
    if kind == "Policy" and "audit.k8s.io" in api:
        yield scan.ev("audit.logging", C, entry.path, line, f"audit Policy {name}", tool="kubernetes", **base)
    if kind == "Kustomization":
        for _i, img in enumerate(doc.get("images") or []):
            if isinstance(img, dict) and (img.get("newName") or img.get("name")):
                ref = f"{img.get('newName') or img.get('name')}:{img.get('newTag', '')}".rstrip(":")
                if img.get("digest"):
                    ref += "@" + str(img["digest"])
                images.append(parse_image(ref))
    if _gpu(doc):
        yield scan.ev("compute.gpu_workload", C, entry.path, line, f"{kind} {name} requests GPUs",
                      source="kubernetes", **base)
    for image in images:
        if image is None:
            continue
        signal = "image.versioned" if image.versioned else "image.unversioned"
        yield scan.ev(signal, C, entry.path, _image_line(text, image.raw, line), image.raw,
                      image=image.name, tag=image.tag, source="manifest",
                      links_to=[image.key] if image.key else [], tool=f"image:{image.name}",
                      version=image.tag or (image.digest and "digest"))


def _template_names(doc: Any) -> str:
    """Names of Argo templates and steps (what a CronWorkflow runs)."""
    return " ".join(str(node.get(k)) for node in _mappings(doc.get("spec")) for k in ("name", "template")
                    if isinstance(node.get(k), str))


#: Azure ML CLI v2 ``$schema`` names → (signal, attributes)
AZUREML_SCHEMAS: dict[str, str] = {
    "managedonlineendpoint": "serving.deployment", "kubernetesonlineendpoint": "serving.deployment",
    "managedonlinedeployment": "serving.deployment",
    "kubernetesonlinedeployment": "serving.deployment",
    "batchendpoint": "serving.batch", "batchdeployment": "serving.batch",
    "modelbatchdeployment": "serving.batch", "pipelinecomponentbatchdeployment": "serving.batch",
    "pipelinejob": "pipeline.definition", "model": "registry.usage", "schedule": "schedule.job",
}


def _azureml(scan: Scan, entry: Entry, doc: LDict) -> Iterator[Evidence]:
    """Azure ML CLI v2 YAML (``$schema: .../<kind>.schema.json``) and SDK v1 deployment
    configuration (``computeType: AKS|ACI``)."""
    schema = str(doc.get("$schema", ""))
    m = re.search(r"/(\w+)\.schema\.json", schema)
    kind = m.group(1).lower() if m else ""
    signal = AZUREML_SCHEMAS.get(kind)
    attrs = {"tool": "azureml", "kind": kind or None}
    flat = _flat(doc)
    if signal == "schedule.job":
        if _disabled(doc):
            return
        attrs["trains"] = trains(f"{doc.get('name', '')} {_flat(doc.get('create_job'))}")
    if signal:
        yield scan.ev(signal, C, entry.path, doc.line, f"$schema {kind}", **attrs)
    if kind == "pipelinejob" and re.search(r"rai_tabular|rai_insight|responsibleai", flat, re.I):
        yield scan.ev("explainability.check", C, entry.path, doc.line, "Responsible AI components",
                      **attrs)
        if re.search(r"fairness", flat, re.I):
            yield scan.ev("fairness.check", C, entry.path, doc.line, "Responsible AI fairness", **attrs)
    if str(doc.get("computeType", "")).lower() in ("aks", "aci"):
        yield scan.ev("serving.deployment", C, entry.path, doc.line_of("computeType"),
                      f"computeType: {doc['computeType']}", tool="azureml",
                      kind=str(doc["computeType"]).lower())
        scaler = doc.get("autoScaler")
        if isinstance(scaler, dict) and scaler.get("autoscaleEnabled") is True:
            yield scan.ev("serving.autoscaling", C, entry.path, doc.line_of("autoScaler"),
                          "autoscaleEnabled: true", tool="azureml")


def _disabled(doc: dict) -> bool:
    """A setting that turns the object off (``enabled: false``, ``status: disabled``)."""
    for key in ("enabled", "is_enabled", "isEnabled"):
        if doc.get(key) is False:
            return True
    return str(doc.get("status", doc.get("state", ""))).lower() == "disabled"


def _image_line(text: str, raw: str, default: int) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if n >= default and raw in line:
            return n
    return default


def _images(doc: Any) -> list:
    from auditor.refs import parse_image

    found = []
    for node in _mappings(doc.get("spec")):
        for key in ("containers", "initContainers"):
            for c in node.get(key) or [] if isinstance(node.get(key), list) else []:
                if isinstance(c, dict) and isinstance(c.get("image"), str):
                    found.append(c["image"])
        if isinstance(node.get("image"), str) and node.get("image") not in found and \
                not isinstance(node.get("containers"), list):
            found.append(node["image"])
    out = []
    for raw in dict.fromkeys(found):
        if "TEMPLATED" in raw:
            continue
        img = parse_image(raw)
        if img is not None:
            out.append(img)
    return out


def _gpu(doc: Any) -> bool:
    return bool(re.search(r"nvidia\.com/gpu|amd\.com/gpu|google\.com/tpu", _flat(doc.get("spec"))))


def _commands(doc: Any) -> str:
    return " ".join(str(x) for node in _mappings(doc.get("spec")) for k in ("command", "args")
                    if isinstance(node.get(k), list) for x in node[k])


def _mappings(node: Any) -> Iterator[dict]:
    """Every mapping in a parsed document, outermost first (parents before children)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _flat(node: Any, depth: int = 0) -> str:
    if depth > 30:
        return ""
    if isinstance(node, dict):
        return " ".join(f"{k} {_flat(v, depth + 1)}" for k, v in node.items())
    if isinstance(node, list):
        return " ".join(_flat(v, depth + 1) for v in node)
    return "" if node is None else str(node)


def _prometheus_rules(scan: Scan, entry: Entry, groups: Any) -> Iterator[Evidence]:
    from auditor.rules import classify_rule

    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            continue
        rules = group["rules"]
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or not rule.get("alert"):
                continue
            line = rules.line_at(i) if isinstance(rules, LList) else 1
            found = classify_rule(str(rule["alert"]), str(rule.get("expr", "")),
                                  rule.get("labels") if isinstance(rule.get("labels"), dict) else {},
                                  rule.get("annotations") if isinstance(rule.get("annotations"), dict)
                                  else {})
            kind = "model" if found.is_model else "operational"
            yield scan.ev(f"monitoring.{kind}_rule", C, entry.path, line,
                          f"alert: {rule.get('alert')} expr: {rule.get('expr', '')}",
                          tool="prometheus", group=str(group.get("name", "")), alert=str(rule["alert"]))


def _alertmanager(scan: Scan, entry: Entry, doc: dict) -> Iterator[Evidence]:
    from auditor.rules import starts_remediation

    receivers = doc.get("receivers") or []
    for i, rec in enumerate(receivers if isinstance(receivers, list) else []):
        if not isinstance(rec, dict):
            continue
        line = receivers.line_at(i) if isinstance(receivers, LList) else 1
        hooks = rec.get("webhook_configs") or rec.get("webhookConfigs") or []
        urls = [str(h.get("url", "")) for h in hooks if isinstance(h, dict)]
        name = str(rec.get("name", ""))
        if urls and starts_remediation(" ".join(urls) + " " + name):
            yield scan.ev("remediation.trigger", C, entry.path, line, f"receiver {name}",
                          tool="alertmanager", receiver=name)
        else:
            yield scan.ev("monitoring.alert_routing", C, entry.path, line, f"receiver {name}",
                          tool="alertmanager", receiver=name)


def _chart_values(scan: Scan, chart: Entry) -> dict:
    """The chart's default ``values.yaml`` (for dependency conditions), or {}."""
    folder = chart.path.rsplit("/", 1)[0] + "/" if "/" in chart.path else ""
    entry = scan.tree.get(folder + "values.yaml")
    data = scan.parsed(entry) if entry is not None else None
    return data if isinstance(data, dict) else {}


def _switched_off(dep: dict, values: dict) -> bool:
    """A dependency whose ``condition`` (``mlflow.enabled``) is false in the chart's values."""
    for cond in str(dep.get("condition") or "").split(","):
        node: Any = values
        for part in cond.strip().split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is False:
            return True
    return False


def _chart(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    try:
        docs = load_yaml_all(text)
    except ParseError as exc:
        scan.note(entry.path, str(exc))
        return
    data = docs[0] if docs and isinstance(docs[0], dict) else {}
    values = _chart_values(scan, entry)
    deps = [d for d in data.get("dependencies") or [] if isinstance(d, dict)
            and not _switched_off(d, values)]
    dep_names = [str(d.get("name", "")) for d in deps]
    yield scan.ev("deploy.helm_chart", C, entry.path, 1, tool="helm", chart=str(data.get("name", "")),
                  chart_version=str(data.get("version", "")) or None, dependencies=dep_names[:20])
    for d, name in zip(deps, dep_names, strict=False):
        line = data["dependencies"].line_at(deps.index(d)) if isinstance(data.get("dependencies"), LList) else 1
        if "jupyterhub" in name:
            yield scan.ev("compute.notebook_server", C, entry.path, line, name, tool="jupyterhub")
        if name in ("mlflow",):
            yield scan.ev("tracking.server", C, entry.path, line, name, tool="mlflow")
        if "kubecost" in name or "opencost" in name:
            yield scan.ev("cost.control", C, entry.path, line, name, tool=name)


DETECTOR = Detector(
    area="deployment config",
    signals=("serving", "schedule", "pipeline", "distributed", "monitoring", "security", "deploy",
             "compute", "image", "cost", "audit", "remediation", "tracking.server", "registry",
             "explainability", "fairness", "feature_store", "tuning", "ci.deploy_step"),
    files=Files(names=frozenset({"chart.yaml", "values.yaml"}),
                grep=(r"^\s*(apiVersion|kind)\s*:", r"^(groups|route|receivers|pipelineInfo)\s*:",
                      r"^\$schema\s*:.*azureml", r"^computeType\s*:"),
                grep_globs=("*.yaml", "*.yml")),
    run=lambda scan: detect(scan),
    after=("infrastructure as code",))
