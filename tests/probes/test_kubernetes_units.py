"""Small pure parts of the Kubernetes probe: image references, rule words, snapshot file shapes."""

from __future__ import annotations

import json

import pytest
import yaml

from auditor.refs import parse_image
from auditor.rules import classify_rule
from probes.kubernetes import KubernetesProbe
from tests.servers.kubernetes import run_probe
from tests.servers.kubernetes_manifests import deployment


@pytest.mark.parametrize("ref, name, version, versioned", [
    ("nginx", "docker.io/library/nginx", "latest", False),
    ("nginx:latest", "docker.io/library/nginx", "latest", False),
    ("bitnami/redis:7.2", "docker.io/bitnami/redis", "7.2", True),
    ("index.docker.io/library/python:3.11-slim", "docker.io/library/python", "3.11-slim", True),
    ("Registry.Example.com:5000/ML/Churn:1.4.2", "registry.example.com:5000/ml/churn", "1.4.2", True),
    ("localhost/ml/x", "localhost/ml/x", "latest", False),
    ("ghcr.io/org/app@sha256:" + "a" * 64, "ghcr.io/org/app", "sha256:" + "a" * 64, True),
    ("ghcr.io/org/app:latest@sha256:" + "b" * 64, "ghcr.io/org/app", "latest", True),
])
def test_image_references(ref, name, version, versioned):
    img = parse_image(ref)
    assert img is not None
    assert (img.name, img.version, img.versioned) == (name, version, versioned)
    assert img.key == f"image:{name}"


def test_bad_image_references():
    assert parse_image("") is None and parse_image("has space:1") is None


@pytest.mark.parametrize("name, expr, labels, verdict", [
    ("FeatureDrift", "psi > 0.2", {}, "model"),
    ("AccuracyDrop", "model_accuracy < 0.8", {}, "model"),
    ("DataQuality", "null_ratio{feature=\"age\"} > 0.1", {}, "model"),
    ("PredictionsSkewed", "abs(mean_prediction - 0.5) > 0.2", {"category": "model"}, "model"),
    ("ModelLatencyHigh", "histogram_quantile(0.99, rate(request_duration_seconds_bucket[5m])) > 1", {}, "operational"),
    ("KubePodCrashLooping", "rate(kube_pod_container_status_restarts_total[5m]) > 0", {}, "operational"),
    ("PredictionsMissing", "sum(rate(predictions_total[5m])) == 0", {}, "model"),
    ("HighErrorRate", "rate(http_requests_total{code=~\"5..\"}[5m]) > 1", {"type": "drift"}, "model"),
])
def test_rule_classification(name, expr, labels, verdict):
    found = classify_rule(name, expr, labels)
    assert (found.family if found.is_model else "operational") == verdict


def test_snapshot_file_shapes(tmp_path):
    """Typed lists from the raw API (items without kind), multi-document YAML, single objects."""
    folder = tmp_path / "export"
    (folder / "nested").mkdir(parents=True)
    d1 = deployment("a", "ml", "registry.example.com/ml/a:1")
    d2 = deployment("b", "ml", "registry.example.com/ml/b:2")
    d3 = deployment("c", "ml", "registry.example.com/ml/c:3")
    typed = {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
             "items": [{k: v for k, v in d1.items() if k not in ("kind", "apiVersion")}]}
    (folder / "raw.json").write_text(json.dumps(typed))
    (folder / "nested" / "multi.yml").write_text(yaml.safe_dump_all([d2, None, d3]))
    (folder / "README.txt").write_text("ignored: not yaml/json")
    evidence, _ = run_probe({"snapshot": str(folder)}, tmp_path)
    assert sorted(e.attributes["tool"] for e in evidence if e.signal == "image.versioned") == [
        "image:registry.example.com/ml/a", "image:registry.example.com/ml/b", "image:registry.example.com/ml/c"]


def test_cli_arguments():
    probe = KubernetesProbe()
    assert probe.target_from_argument("k8s:prod") == {"name": "prod", "context": "prod"}
    assert probe.target_from_argument("k8s-snapshot:exports/staging") == {"name": "staging",
                                                                          "snapshot": "exports/staging"}
    assert probe.target_from_argument("./repo") is None


def test_every_handler_the_kind_table_names_exists():
    from probes.kubernetes.classify import Classifier
    from probes.kubernetes.kinds import KINDS

    missing = [k.kind for k in KINDS if k.handler and not hasattr(Classifier, f"_{k.handler}")]
    assert missing == []
    assert sum(1 for k in KINDS if k.handler) >= 45
