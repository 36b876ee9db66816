"""Bad input for the Kubernetes probe: each case ends in a one-line ``unobserved``, never a crash,
and no credential in any output."""

from __future__ import annotations

import json
import time

import yaml

from probes.kubernetes import KubernetesProbe
from tests.servers._util import free_port
from tests.servers.kubernetes import TOKEN, run_probe, write_kubeconfig, write_snapshot
from tests.servers.kubernetes_manifests import SECRET_VALUE, container, deployment, manifests, meta

EXPIRED = "expired-token-Zr4Lq9Wm2Kd7"


def dump(evidence, unobserved) -> str:
    return json.dumps([e.to_dict() for e in evidence] + [u.to_dict() for u in unobserved])


def assert_clean(evidence, unobserved, *secrets: str) -> None:
    text = dump(evidence, unobserved)
    for secret in (TOKEN, EXPIRED, SECRET_VALUE, *secrets):
        assert secret not in text
    for u in unobserved:
        assert "\n" not in u.reason and len(u.reason) <= 300


def test_unreachable_api_server(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{free_port()}", TOKEN)
    started = time.monotonic()
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    assert time.monotonic() - started < 10
    assert evidence == []
    (u,) = unobserved
    assert "cannot reach the API server at 127.0.0.1:" in u.reason and "connection refused" in u.reason
    assert set(u.signals) == set(KubernetesProbe.signals)  # everything this target could show is unknown
    assert_clean(evidence, unobserved)


def test_expired_token_401(kube_api, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kc", kube_api.url, EXPIRED)
    kube_api.reset()
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    assert evidence == []
    (u,) = unobserved
    assert u.reason == "401 Unauthorized: the API server refused invalid or expired credentials"
    assert set(u.signals) == set(KubernetesProbe.signals)
    assert [r.path for r in kube_api.requests] == ["/version"]  # stops at the first refusal
    assert not any(r.authorized for r in kube_api.requests)
    assert_clean(evidence, unobserved)


def test_forbidden_kinds_become_unobserved_naming_verb_and_resource(kube_api_factory, tmp_path):
    server = kube_api_factory(deny=frozenset({"inferenceservices.serving.kserve.io", "rolebindings.rbac.authorization.k8s.io"}))
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN)
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    reasons = {u.reason: u for u in unobserved}
    assert set(reasons) == {"list inferenceservices.serving.kserve.io forbidden",
                            "list rolebindings.rbac.authorization.k8s.io forbidden"}
    isvc = reasons["list inferenceservices.serving.kserve.io forbidden"]
    assert {"serving.deployment", "serving.autoscaling", "explainability.check"} <= set(isvc.signals)
    assert isvc.what == "InferenceService objects"
    assert "security.access_control" in reasons["list rolebindings.rbac.authorization.k8s.io forbidden"].signals
    # everything else is still audited
    assert not any("/InferenceService/" in e.locator for e in evidence)
    assert any(e.locator == "k8s://prod/ml-team-b/SeldonDeployment/fraud" for e in evidence)
    assert server.non_get() == []
    assert_clean(evidence, unobserved)


def test_missing_context(kube_api, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kc", kube_api.url, TOKEN, context="prod")
    kube_api.reset()
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig), "context": "staging"}, tmp_path)
    assert evidence == []
    (u,) = unobserved
    assert u.reason == f"context 'staging' not found in {kubeconfig}"
    assert kube_api.requests == []
    assert_clean(evidence, unobserved)


def test_missing_kubeconfig_and_not_in_cluster(tmp_path):
    evidence, unobserved = run_probe({"kubeconfig": str(tmp_path / "nope")}, tmp_path)
    assert evidence == [] and len(unobserved) == 1 and unobserved[0].reason.endswith("nope does not exist")
    evidence, unobserved = run_probe({"in_cluster": True}, tmp_path)
    assert evidence == [] and "not running inside a cluster" in unobserved[0].reason


def test_malformed_snapshot_files(tmp_path):
    folder = write_snapshot(tmp_path / "export", manifests())
    (folder / "broken.yaml").write_text("apiVersion: v1\nkind: List\nitems:\n  - name: [unclosed\n")
    (folder / "broken.json").write_text('{"apiVersion": "v1", "kind": "List", "items": [')
    (folder / "notes.yaml").write_text("just a sentence\n")
    evidence, unobserved = run_probe({"snapshot": str(folder)}, tmp_path)
    bad = {u.what: u for u in unobserved}
    assert set(bad) == {"snapshot file broken.yaml", "snapshot file broken.json", "snapshot file notes.yaml"}
    assert bad["snapshot file broken.yaml"].reason.startswith("not valid YAML at line 5")
    assert bad["snapshot file broken.json"].reason.startswith("not valid JSON")
    assert all(u.signals == () for u in unobserved)  # one bad file hides no capability by itself
    assert any(e.signal == "serving.deployment" for e in evidence)  # the rest is audited
    assert_clean(evidence, unobserved)


def test_a_snapshot_file_nested_absurdly_deep_is_refused_not_a_crash(tmp_path):
    folder = write_snapshot(tmp_path / "export", manifests())
    (folder / "deep.yaml").write_text("apiVersion: v1\nkind: List\nitems: " + "[" * 100_000 + "]" * 100_000)
    evidence, unobserved = run_probe({"snapshot": str(folder)}, tmp_path)
    bad = {u.what: u.reason for u in unobserved}
    assert bad == {"snapshot file deep.yaml": "not valid YAML: nested too deeply"}
    assert any(e.signal == "serving.deployment" for e in evidence)


def test_snapshot_folder_missing_or_empty(tmp_path):
    evidence, unobserved = run_probe({"snapshot": str(tmp_path / "none")}, tmp_path)
    assert evidence == [] and unobserved[0].reason == "the snapshot folder does not exist"
    (tmp_path / "empty").mkdir()
    evidence, unobserved = run_probe({"snapshot": str(tmp_path / "empty")}, tmp_path)
    assert evidence == [] and "no .yaml/.yml/.json files" in unobserved[0].reason
    assert set(unobserved[0].signals) == set(KubernetesProbe.signals)


def test_list_with_kinds_the_probe_does_not_know(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    items = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w", "ml-team-a"),
         "spec": {"image": "registry.example.com/should/not:count"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cfg", "ml-team-a"), "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db", "ml-team-a"), "data": {"password": SECRET_VALUE}},
        {"kind": "NoApiVersion", "metadata": meta("x")},
        "not-an-object",
        deployment("churn-api", "ml-team-a", "registry.example.com/ml/churn:1.4.2"),
    ]
    (folder / "all.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    evidence, unobserved = run_probe({"snapshot": str(folder)}, tmp_path)
    assert [(e.signal, e.locator) for e in evidence] == [
        ("image.versioned", "k8s://prod/ml-team-a/Deployment/churn-api")]
    # only the honest note that this export lacks kinds every cluster has
    assert {u.what.split()[0] for u in unobserved} == {"Namespace", "RoleBinding", "ClusterRoleBinding"}
    rb = next(u for u in unobserved if u.what.startswith("RoleBinding"))
    assert "kubectl get rolebindings -A -o yaml" in rb.reason and "security.access_control" in rb.signals
    assert_clean(evidence, unobserved)


def test_live_cluster_with_unknown_kinds_lists_only_known_ones(kube_api_factory, tmp_path):
    objects = manifests() + [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": meta("widgets.example.com"),
         "spec": {"group": "example.com", "scope": "Namespaced",
                  "names": {"kind": "Widget", "plural": "widgets"}, "versions": [{"name": "v1"}]}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w", "ml-team-a"), "spec": {}},
    ]
    server = kube_api_factory(objects)
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN)
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    assert unobserved == [] and evidence
    assert not any("widgets" in r.path for r in server.requests)


def huge_objects() -> list[dict]:
    big = deployment("giant", "ml-team-a", "registry.example.com/ml/giant:1.0")
    big["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "x" * 1_400_000}
    big["spec"]["template"]["spec"]["containers"] = [
        container(f"c{i}", f"registry.example.com/ml/part-{i}:1.{i}") for i in range(300)]
    rules = [{"alert": f"PodRestarting{i}", "expr": f"rate(kube_pod_container_status_restarts_total[5m]) > {i}"}
             for i in range(5000)]
    rules.append({"alert": "ModelDrift", "expr": "psi_score > 0.2 " + "or vector(0) " * 2000})
    prule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta("huge", "ml-team-a"),
             "spec": {"groups": [{"name": "g", "rules": rules}]}}
    crd = next(o for o in manifests() if o["metadata"]["name"] == "prometheusrules.monitoring.coreos.com")
    return [crd, big, prule]


def check_huge(evidence) -> None:
    images = [e for e in evidence if e.locator == "k8s://prod/ml-team-a/Deployment/giant"]
    assert 0 < len(images) <= 20  # capped per object
    (ops,) = [e for e in evidence if e.signal == "monitoring.operational_rule"]
    assert ops.attributes["alerts"] == 5000 and len(ops.attributes["names"]) == 20
    (drift,) = [e for e in evidence if e.signal == "monitoring.model_rule"]
    assert len(drift.excerpt) <= 400
    assert all(len(json.dumps(dict(e.attributes))) < 4000 for e in evidence)


def test_very_large_objects_live_and_snapshot(kube_api_factory, tmp_path):
    server = kube_api_factory(huge_objects())
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN)
    live, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    assert unobserved == []
    check_huge(live)
    folder = write_snapshot(tmp_path / "export", huge_objects())
    snap, _ = run_probe({"snapshot": str(folder)}, tmp_path)
    check_huge(snap)
