"""One builder of cross-source keys: every probe names an image, a commit, a model alike."""

from __future__ import annotations

import pytest

from auditor.refs import commit_key, image_key, model_key, parse_image


@pytest.mark.parametrize("ref, key", [
    ("python:3.11-slim", "image:docker.io/library/python"),
    ("index.docker.io/library/python:3.11", "image:docker.io/library/python"),
    ("registry-1.docker.io/bitnami/redis:7", "image:docker.io/bitnami/redis"),
    ("registry.hub.docker.com/bitnami/redis", "image:docker.io/bitnami/redis"),
    ("Registry.Example.com:5000/ML/Churn:1.4.2", "image:registry.example.com:5000/ml/churn"),
    ("localhost:5000/team/m:1", "image:localhost:5000/team/m"),
])
def test_every_docker_hub_alias_and_case_gives_one_key(ref, key):
    image = parse_image(ref)
    assert image is not None and image.key == key
    host, _, repo = key.removeprefix("image:").partition("/")
    assert image_key(host, repo) == key


@pytest.mark.parametrize("ref, versioned", [
    ("app", False), ("app:latest", False), ("app:main", False), ("app:master", False),
    ("app:1.2.0", True), ("app:3f2a9c1", True), ("app@sha256:" + "a" * 64, True),
])
def test_versioned_means_a_tag_that_does_not_move_or_a_digest(ref, versioned):
    image = parse_image(ref)
    assert image is not None and image.versioned is versioned


def test_digest_key_and_templated_names():
    pinned = parse_image("r.example.com/a/b:1@sha256:" + "B" * 64)
    assert pinned.keys == ["image:r.example.com/a/b", "image-digest:sha256:" + "b" * 64]
    templated = parse_image("${{ env.REGISTRY }}/churn:${{ github.sha }}")
    assert templated.key is None and templated.dynamic_tag
    assert parse_image("") is None and parse_image("scratch") is None


def test_commit_and_model_keys():
    assert commit_key("A" * 40) == "commit:" + "a" * 40
    assert commit_key("abc1234") is None and commit_key(None) is None
    assert model_key("churn") == "model:churn"
