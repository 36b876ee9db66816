"""The Kubernetes probe against servers that are not, or not quite, an API server: someone
else's JSON API, a LIST whose ``continue`` token never ends, an answer past its size cap."""

from __future__ import annotations

import json

from probes.kubernetes import KubernetesProbe
from tests.servers._util import foreign_json_api
from tests.servers.kubernetes import TOKEN, run_probe, write_kubeconfig
from tests.servers.kubernetes_manifests import deployment, manifests


def test_a_foreign_json_api_is_not_taken_for_an_empty_cluster(tmp_path):
    with foreign_json_api() as url:
        kubeconfig = write_kubeconfig(tmp_path / "kc", url, TOKEN)
        evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig)}, tmp_path)
    assert evidence == []
    [u] = unobserved
    host = url.removeprefix("http://")
    assert u.reason.startswith(f"not a Kubernetes API at {host}: GET /version answered 200 JSON")
    assert "\n" not in u.reason
    assert set(u.signals) == set(KubernetesProbe.signals)  # unknown, never unmet


def test_a_repeated_continue_token_stops_that_listing_only(kube_api_factory, tmp_path):
    server = kube_api_factory(manifests(), endless=frozenset({"deployments.apps"}))
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN)
    # the timeout is what the old code looped into; the guard stops after the second page
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig), "page_size": 2}, tmp_path,
                                     timeout=20)
    [u] = [u for u in unobserved if u.what == "Deployment objects"]
    assert "same next-page token twice" in u.reason and "list deployments.apps" in u.reason
    assert u.signals  # what deployments would have shown is unknown
    pages = [r for r in server.requests if r.path == "/apis/apps/v1/deployments"]
    assert len(pages) == 2
    assert any(e.locator.startswith("k8s://prod/") and "/CronJob/" in e.locator for e in evidence)


def test_a_list_page_past_max_response_bytes_is_not_read(kube_api_factory, tmp_path):
    objects = manifests()
    for i in range(4):
        big = deployment(f"bulky-{i}", "ml-team-a", "registry.example.com/ml/bulky:1.0")
        big["metadata"]["annotations"] = {"note": "y" * 40_000}
        objects.append(big)
    server = kube_api_factory(objects)
    kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, TOKEN)
    evidence, unobserved = run_probe({"kubeconfig": str(kubeconfig),
                                      "max_response_bytes": 65536}, tmp_path)
    [u] = [u for u in unobserved if u.what == "Deployment objects"]
    assert "answer larger than 65536 bytes" in u.reason and "lower page_size" in u.reason
    assert not any("/Deployment/" in e.locator for e in evidence)
    assert any("/CronJob/" in e.locator for e in evidence)  # the rest of the cluster was read
    assert all(len(json.dumps(dict(e.attributes))) < 4000 for e in evidence)
