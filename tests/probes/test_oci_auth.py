"""Registry authentication: htpasswd basic auth and the Docker token (bearer) flow.

The token registry is a real distribution process configured with ``auth: token``; the
JWTs it verifies come from a small token server in the test session
(tests/servers/oci.py) that checks basic credentials and signs every requested scope.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.servers.oci import Registry, as_text, by_signal, run_oci, unobserved


@pytest.fixture
def env_creds(monkeypatch):
    def set_(user: str, password: str) -> dict[str, str]:
        monkeypatch.setenv("OCI_TEST_USER", user)
        monkeypatch.setenv("OCI_TEST_PASSWORD", password)
        return {"username_env": "OCI_TEST_USER", "password_env": "OCI_TEST_PASSWORD"}
    return set_


def test_basic_auth_with_env_credentials(oci_registry_basic: Registry, env_creds, tmp_path):
    reg = oci_registry_basic
    items, probe = run_oci(tmp_path, url=reg.url, repositories=["ml/*"], max_tags=3,
                           **env_creds(reg.username, reg.password))
    assert by_signal(items, "image.versioned", "ml/churn")
    assert by_signal(items, "image.unversioned", "ml/fraud")
    assert all(u.signals == () for u in unobserved(items))  # only the broken items
    text = as_text(items)
    assert reg.password not in text
    assert base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode() not in text


def test_basic_auth_from_docker_config(oci_registry_basic: Registry, tmp_path):
    reg = oci_registry_basic
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {f"http://{reg.host}": {"auth": auth},
                                            "other.example.com": {"auth": "eDp5"}}}))
    items, _ = run_oci(tmp_path, url=reg.url, repositories=["ml/fraud"], docker_config=str(config))
    assert by_signal(items, "image.unversioned", "ml/fraud")
    assert not unobserved(items)
    assert auth not in as_text(items) and reg.password not in as_text(items)


def test_basic_auth_without_credentials_says_what_to_set(oci_registry_basic: Registry, tmp_path):
    items, _ = run_oci(tmp_path, url=oci_registry_basic.url)
    [u] = unobserved(items)
    assert "requires a login (HTTP 401)" in u.reason and "username_env" in u.reason
    assert "image" in u.signals


def test_bearer_token_flow(oci_registry_token: Registry, env_creds, tmp_path):
    reg = oci_registry_token
    start = len(reg.token_log)
    items, probe = run_oci(tmp_path, url=reg.url, repositories=["ml/*"], max_tags=3,
                           **env_creds(reg.username, reg.password))
    assert by_signal(items, "image.versioned", "ml/churn")
    assert by_signal(items, "security.signing", "ml/churn")
    scopes = [s for entry in reg.token_log[start:] for s in entry["scope"]]
    assert "registry:catalog:*" in scopes
    assert "repository:ml/churn:pull" in scopes
    assert all(entry["authenticated"] for entry in reg.token_log[start:])
    # one token per scope, not per request
    assert len(scopes) == len(set(scopes))
    text = as_text(items)
    assert reg.password not in text and "eyJ" not in text


def test_bearer_token_anonymous_is_refused_cleanly(oci_registry_token: Registry, tmp_path):
    items, _ = run_oci(tmp_path, url=oci_registry_token.url)
    [u] = unobserved(items)
    assert "auth service" in u.reason and "anonymous" in u.reason
    assert u.signals


def test_static_token_from_env(oci_registry_token: Registry, monkeypatch, tmp_path):
    """``token_env`` holds an already issued bearer token (CI systems hand those out)."""
    import urllib.parse
    import urllib.request

    realm = json.loads(json.dumps(oci_registry_token.token_log and {}))  # noqa: F841 - clarity
    # ask the token server ourselves, as a CI system would
    challenge = None
    try:
        urllib.request.urlopen(oci_registry_token.url + "/v2/", timeout=5)
    except urllib.error.HTTPError as exc:
        challenge = exc.headers["WWW-Authenticate"]
    params = dict(p.split("=", 1) for p in challenge.removeprefix("Bearer ").split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    query = urllib.parse.urlencode({"service": params["service"],
                                    "scope": "repository:ml/fraud:pull"})
    req = urllib.request.Request(params["realm"] + "?" + query, headers={
        "Authorization": "Basic " + base64.b64encode(
            f"{oci_registry_token.username}:{oci_registry_token.password}".encode()).decode()})
    token = json.loads(urllib.request.urlopen(req, timeout=5).read())["token"]
    monkeypatch.setenv("OCI_TEST_TOKEN", token)
    items, _ = run_oci(tmp_path, url=oci_registry_token.url, repositories=["ml/fraud"],
                       token_env="OCI_TEST_TOKEN")
    assert by_signal(items, "image.unversioned", "ml/fraud")
    assert token not in as_text(items)


def test_credential_helper_is_not_run(oci_registry_basic: Registry, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credsStore": "desktop"}))
    items, _ = run_oci(tmp_path, url=oci_registry_basic.url, docker_config=str(config))
    reasons = [u.reason for u in unobserved(items)]
    assert any("credsStore/credHelpers program" in r for r in reasons)
    assert any("requires a login" in r for r in reasons)
