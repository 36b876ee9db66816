"""End to end through run_audit: the engine sees what the OCI probe reports."""

from __future__ import annotations

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.servers._util import free_port
from tests.servers.oci import NOW, Pusher, Registry, labels


def _status(assessment: dict, scope: str, capability: str, kind: str = "team") -> str:
    """A registry is a source, not placed itself: with no repository in the audit its team
    is judged on the registry's evidence."""
    [cap] = [c for c in assessment["capabilities"]
             if c["scope"] == {"kind": kind, "name": scope} and c["id"] == capability]
    return cap["status"]


def _oci(name: str, url: str, tmp_path, **extra) -> object:
    empty = tmp_path / f"{name}-docker-config.json"
    empty.write_text("{}")
    return build_target({"name": name, "kind": "oci", "url": url, "docker_config": str(empty),
                         "labels": {"team": "vision"}, **extra})


def test_audit_of_a_registry(oci_registry: Registry, tmp_path):
    cfg = AuditConfig(targets=[_oci("reg", oci_registry.url, tmp_path, repositories=["ml/*"])])
    a = run_audit(cfg, cache_dir=tmp_path, now=NOW, jobs=1)
    assert _status(a, "vision", "versioned_images") == "met"
    assert _status(a, "vision", "security_controls") == "partial"  # signatures and SBOMs
    drift = {d["tool"]: [v["version"] for v in d["versions"]] for d in a["inventory"]["drift"]}
    assert drift["base-image:python"] == ["3.10-slim", "3.11-slim"]
    # broken items are reported but hide no capability, so the audit is complete
    assert any(u["what"].endswith("ml/broken:noconfig") for u in a["unobserved"])
    assert a["partial"] is False


def test_unreachable_registry_makes_capabilities_unknown(tmp_path):
    cfg = AuditConfig(targets=[_oci("gone", f"http://127.0.0.1:{free_port()}", tmp_path)])
    a = run_audit(cfg, cache_dir=tmp_path, now=NOW, jobs=1)
    assert _status(a, "vision", "versioned_images") == "unknown"
    assert a["partial"] is True
    [u] = a["unobserved"]
    assert "is unreachable: connection refused" in u["reason"]


def test_revision_label_links_to_a_commit_in_an_audited_repository(oci_registry: Registry, tmp_path):
    import git

    repo = git.Repo.init(tmp_path / "app")
    (tmp_path / "app" / "train.py").write_text("print('train')\n")
    repo.index.add(["train.py"])
    sha = repo.index.commit("train").hexsha
    Pusher(oci_registry.url).image("e2e/app", ["1.0.0"], labels(revision=sha, version="1.0.0"),
                                   layer=b"e2e-app")
    cfg = AuditConfig(targets=[
        _oci("reg", oci_registry.url, tmp_path, repositories=["e2e/app"]),
        build_target({"name": "app", "kind": "git", "path": str(tmp_path / "app"),
                      "labels": {"team": "vision"}}),
    ])
    a = run_audit(cfg, cache_dir=tmp_path / "cache", now=NOW, jobs=1)
    commit_links = [link for link in a["links"] if link["key"] == f"commit:{sha}"]
    assert commit_links and commit_links[0]["from_target"] == "reg"
    assert commit_links[0]["to_target"] == "app"
    # the image built from the repository's commit is the repository's image
    assert _status(a, "app", "cross_source_integration", "target") in ("met", "partial")
    assert _status(a, "app", "versioned_images", "target") == "met"
    (source,) = a["sources"]
    assert source["target"] == "reg" and source["linked_projects"] == ["app"]


def test_no_credential_anywhere_in_the_assessment(oci_registry_token: Registry, monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("OCI_AUDIT_USER", oci_registry_token.username)
    monkeypatch.setenv("OCI_AUDIT_PASSWORD", oci_registry_token.password)
    cfg = AuditConfig(targets=[_oci("tok", oci_registry_token.url, tmp_path, repositories=["ml/*"],
                                    username_env="OCI_AUDIT_USER", password_env="OCI_AUDIT_PASSWORD")])
    a = run_audit(cfg, cache_dir=tmp_path, now=NOW, jobs=1)
    assert _status(a, "vision", "versioned_images") == "met"
    text = json.dumps(a.to_dict())
    assert oci_registry_token.password not in text
    assert "eyJ" not in text  # no JWT from the token service
