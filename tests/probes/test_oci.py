"""OCI probe against a real distribution registry filled through its HTTP API."""

from __future__ import annotations

import pytest

from auditor.config import ConfigError, build_target
from auditor.evidence import Strength
from auditor.probe import ProbeContext
from probes.oci import OciProbe
from tests.servers.oci import CHURN_REVISION, NOW, Registry, by_signal, run_oci


@pytest.fixture(scope="module")
def audited(oci_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> tuple[list, OciProbe]:
    """One probe run over ml/* shared by the read-only assertions below."""
    return run_oci(tmp_path_factory.mktemp("oci"), url=oci_registry.url, repositories=["ml/*"])


def test_semver_repository_is_versioned_with_newest_version_for_drift(audited, oci_registry):
    items, _ = audited
    [ev] = by_signal(items, "image.versioned", "ml/churn")
    assert ev.strength == Strength.OPERATING
    assert ev.attributes["tool"] == f"image:{oci_registry.host}/ml/churn"
    assert ev.attributes["version"] == "1.2.0"
    assert ev.attributes["tag_kinds"] == {"semver": 3, "git_sha": 1, "other": 1}
    # cosign tags are artifacts, not image tags
    assert ev.attributes["tags_total"] == 5
    assert ev.locator == f"oci://{oci_registry.host}/ml/churn@{oci_registry.digests['churn:1.2.0']}"
    assert f"image-digest:{oci_registry.digests['churn:1.2.0']}" in ev.attributes["link_keys"]


def test_latest_only_repository_is_unversioned(audited):
    items, _ = audited
    [ev] = by_signal(items, "image.unversioned", "ml/fraud")
    assert ev.attributes["latest_only"] is True
    assert "version" not in ev.attributes
    assert not by_signal(items, "image.versioned", "ml/fraud")


def test_glob_selects_repositories(audited):
    items, probe = audited
    repos = {e.attributes.get("repository") for e in by_signal(items, "image.versioned")
             + by_signal(items, "image.unversioned")}
    assert repos == {"ml/churn", "ml/fraud", "ml/vision", "ml/broken"}
    assert "web/frontend" not in probe.last_walk.repositories


def test_revision_label_links_to_commit(audited, oci_registry):
    items, _ = audited
    prov = {e.attributes["revision"]: e for e in by_signal(items, "image.provenance", "ml/churn")}
    ev = prov[CHURN_REVISION]
    assert ev.attributes["links_to"] == [f"commit:{CHURN_REVISION}"]
    assert ev.attributes["source"] == "https://git.example.com/ml/churn"
    assert sorted(ev.attributes["tags"]) == ["1.2.0", "latest"]
    assert f"image-digest:{oci_registry.digests['churn:1.2.0']}" in ev.attributes["link_keys"]
    assert f"image:{oci_registry.host}/ml/churn" in ev.attributes["link_keys"]


def test_image_age_from_config_created(audited):
    items, _ = audited
    [churn] = by_signal(items, "tempo.image_age_days", "ml/churn")
    assert churn.attributes["unit"] == "days"
    assert churn.attributes["created"] == "2025-03-10T12:00:00Z"
    assert churn.attributes["value"] == pytest.approx((NOW.timestamp() - 1741608000) / 86400, abs=0.1)
    [fraud] = by_signal(items, "tempo.image_age_days", "ml/fraud")
    assert fraud.attributes["value"] == 365.0


def test_cosign_signature_and_sbom_tags(audited, oci_registry):
    items, _ = audited
    [sig] = by_signal(items, "security.signing", "ml/churn")
    assert sig.attributes["method"] == ["cosign-tag"]
    assert sig.attributes["subjects"] == 1 and sig.attributes["subjects_among_read"] == 1
    assert sig.locator.endswith(oci_registry.digests["churn:1.2.0"])
    assert by_signal(items, "security.sbom", "ml/churn")
    assert not by_signal(items, "security.signing", "ml/fraud")
    assert not by_signal(items, "security.scanning")


def test_base_image_families_feed_drift(audited):
    items, _ = audited
    bases = {e.attributes["repository"]: (e.attributes["tool"], e.attributes["version"])
             for e in by_signal(items, "image.base")}
    assert bases["ml/churn"] == ("base-image:python", "3.11-slim")
    assert bases["ml/fraud"] == ("base-image:python", "3.10-slim")  # same family, drifted
    assert bases["ml/vision"] == ("base-image:nvcr.io/nvidia/pytorch", "24.01-py3")


def test_multi_platform_index_reads_the_amd64_child(audited, oci_registry):
    items, _ = audited
    [ev] = by_signal(items, "image.versioned", "ml/vision")
    # the index digest is what the tag points at; labels come from the linux/amd64 child
    assert ev.locator.endswith(oci_registry.digests["vision:v2.0.0"])
    [prov] = by_signal(items, "image.provenance", "ml/vision")
    assert prov.attributes["revision"] == "f" * 40


def test_max_tags_bounds_manifest_reads(oci_registry, tmp_path):
    items, probe = run_oci(tmp_path, url=oci_registry.url, repositories=["ml/churn"], max_tags=2)
    reads = [p for m, p in probe.last_walk.client.log if "/manifests/" in p]
    assert reads == ["/v2/ml/churn/manifests/latest", "/v2/ml/churn/manifests/1.2.0"]
    [ev] = by_signal(items, "image.versioned", "ml/churn")
    assert ev.attributes["tags_total"] == 5 and ev.attributes["images_read"] == 1  # same digest


def test_catalog_pages_follow_link_header(oci_registry, tmp_path):
    items, probe = run_oci(tmp_path, url=oci_registry.url, repositories=["ml/*"], page_size=2,
                           max_tags=1)
    catalog = [p for m, p in probe.last_walk.client.log if p == "/v2/_catalog"]
    assert len(catalog) >= 3  # 5 repositories, 2 per page
    assert set(probe.last_walk.repositories) == {"ml/broken", "ml/churn", "ml/fraud", "ml/vision"}


def test_literal_repository_names_skip_the_catalog(oci_registry, tmp_path):
    _, probe = run_oci(tmp_path, url=oci_registry.url, repositories=["ml/fraud"])
    assert all(p != "/v2/_catalog" for _, p in probe.last_walk.client.log)
    assert probe.last_walk.repositories == ["ml/fraud"]


def test_probe_never_writes(oci_registry, tmp_path):
    before = oci_registry.storage_fingerprint()
    logged = len(oci_registry.methods_logged())
    _, probe = run_oci(tmp_path, url=oci_registry.url, repositories=["*"])
    assert {m for m, _ in probe.last_walk.client.log} <= {"GET", "HEAD"}
    served = oci_registry.methods_logged()[logged:]
    assert served and set(served) <= {"GET", "HEAD"}
    assert oci_registry.storage_fingerprint() == before


def test_resolve_links_answers_image_keys_for_this_registry(oci_registry, tmp_path):
    target = build_target({"name": "r", "kind": "oci", "url": oci_registry.url})
    host = oci_registry.host
    keys = [f"image:{host}/ml/churn", f"image:{host}/ml/nope", "image:docker.io/library/python"]
    found = list(OciProbe().resolve_links(target, ProbeContext(probe="oci", cache_dir=tmp_path), keys))
    assert [e.attributes["link_keys"] for e in found] == [[f"image:{host}/ml/churn"]]


def test_unknown_setting_is_a_config_error(oci_registry):
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({"name": "r", "kind": "oci", "url": oci_registry.url, "password": "x"})


def test_target_from_argument():
    assert OciProbe().target_from_argument("oci://registry.example.com/ml/*") == {
        "url": "https://registry.example.com", "repositories": ["ml/*"]}
    assert OciProbe().target_from_argument("/some/path") is None


def test_referrers_api_signatures_sboms_attestations(oci_registry, tmp_path):
    from tests.servers.oci import referrers_proxy

    older = oci_registry.digests["churn:1.1.0"]
    attached = {older: [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "1" * 64,
         "size": 10, "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "2" * 64,
         "size": 10, "artifactType": "application/spdx+json"},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "3" * 64,
         "size": 10, "artifactType": "application/vnd.in-toto+json"},
    ]}
    with referrers_proxy(oci_registry.url, attached) as url:
        items, probe = run_oci(tmp_path, url=url, repositories=["ml/churn"])
    [sig] = by_signal(items, "security.signing", "ml/churn")
    assert sig.attributes["method"] == ["cosign-tag", "referrers"]
    assert sig.attributes["subjects"] == 2  # 1.2.0 by cosign tag, 1.1.0 by a referrer
    [sbom] = by_signal(items, "security.sbom", "ml/churn")
    assert sbom.attributes["subjects"] == 2
    [att] = by_signal(items, "security.attestation", "ml/churn")
    assert att.attributes == {**att.attributes, "method": ["referrers"], "subjects": 1}
    asked = [p for _, p in probe.last_walk.client.log if "/referrers/" in p]
    assert len(asked) == sig.attributes["images_read"]  # supported: asked once per image


def test_registry_without_referrers_api_is_asked_once(audited):
    _, probe = audited
    asked = [p for _, p in probe.last_walk.client.log if "/referrers/" in p]
    assert len(asked) == 1
