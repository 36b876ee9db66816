"""Pure functions of the OCI probe: tag kinds and ranking, references, challenges."""

from __future__ import annotations

from email.message import Message

import pytest

from auditor.refs import base_family, commit_key, image_key
from probes.oci.client import next_link, parse_challenge
from probes.oci.collect import classify_artifact
from probes.oci.credentials import from_docker_config
from probes.oci.tags import TagSet, kind_of


@pytest.mark.parametrize(("tag", "kind"), [
    ("1.2.3", "semver"), ("v2.0", "semver"), ("1.2.0-rc1", "semver"), ("2024.03.01", "semver"),
    ("3f2c1a9", "git_sha"), ("sha-3f2c1a9e", "git_sha"), ("0123456789abcdef0123456789abcdef01234567", "git_sha"),
    ("latest", "other"), ("main", "other"), ("deadbeef", "other"), ("1234567", "other"),
    ("sha256-" + "a" * 64 + ".sig", "artifact"), ("sha256-" + "a" * 64, "artifact"),
])
def test_tag_kinds(tag, kind):
    assert kind_of(tag) == kind


def test_ranking_puts_latest_then_highest_versions_first():
    ts = TagSet.of(["1.9.0", "1.10.0", "latest", "1.10.0-rc1", "abc1234", "dev",
                    "sha256-" + "b" * 64 + ".sig"])
    assert ts.ranked() == ["latest", "1.10.0", "1.10.0-rc1", "1.9.0", "dev", "abc1234"]
    assert ts.newest_version() == "1.10.0"
    assert ts.sample(2) == ["latest", "1.10.0"]
    assert ts.cosign == {"sha256:" + "b" * 64: {"sig"}}


@pytest.mark.parametrize(("ref", "family", "version"), [
    ("python:3.11-slim", "python", "3.11-slim"),
    ("docker.io/library/python:3.11-slim", "python", "3.11-slim"),
    ("index.docker.io/bitnami/pytorch", "bitnami/pytorch", "latest"),
    ("nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io/nvidia/pytorch", "24.01-py3"),
    ("localhost:5000/base@sha256:" + "c" * 64, "localhost:5000/base", "c" * 12),
])
def test_base_families(ref, family, version):
    assert base_family(ref) == (family, version)


def test_link_keys():
    assert image_key("registry-1.docker.io", "Python") == "image:docker.io/library/python"
    assert image_key("Reg.Internal:5000", "ML/Churn") == "image:reg.internal:5000/ml/churn"
    assert commit_key("ABCDEF0123456789ABCDEF0123456789ABCDEF01") == "commit:abcdef0123456789abcdef0123456789abcdef01"
    assert commit_key("abc1234") is None


def test_challenge_and_link_parsing():
    ch = parse_challenge(['Bearer realm="https://auth.example.com/token",service="reg",'
                          'scope="repository:ml/a:pull"'])
    assert ch.scheme == "bearer" and ch.params["scope"] == "repository:ml/a:pull"
    assert parse_challenge(['Basic realm="x"']).scheme == "basic"
    headers = Message()
    headers["Link"] = '</v2/_catalog?last=b&n=2>; rel="next"'
    assert next_link(headers, "https://r.example.com/v2/_catalog?n=2") == \
        "https://r.example.com/v2/_catalog?last=b&n=2"


def test_artifact_types():
    assert classify_artifact("application/vnd.dev.cosign.artifact.sig.v1+json") == "sig"
    assert classify_artifact("application/vnd.cncf.notary.signature") == "sig"
    assert classify_artifact("application/vnd.cyclonedx+json") == "sbom"
    assert classify_artifact("application/vnd.in-toto+json") == "att"
    assert classify_artifact("application/vnd.cncf.helm.config.v1+json") is None


def test_docker_config_entries(tmp_path):
    import base64
    import json

    cfg = tmp_path / "config.json"
    auth = base64.b64encode(b"me:s3cret-value").decode()
    cfg.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}))
    creds, note = from_docker_config(cfg, "registry-1.docker.io")
    assert (creds.username, creds.password, note) == ("me", "s3cret-value", None)
    cfg.write_text("{not json")
    creds, note = from_docker_config(cfg, "x")
    assert creds is None and "unreadable" in note and "s3cret" not in note
