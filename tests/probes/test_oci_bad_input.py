"""Bad input: each case ends in a one-line reason, no credential in any output, no crash."""

from __future__ import annotations

import time

from tests.servers._util import hanging_server
from tests.servers.oci import (
    Registry,
    as_text,
    by_signal,
    html_server,
    run_oci,
    unobserved,
)


def test_wrong_basic_credentials(oci_registry_basic: Registry, monkeypatch, tmp_path):
    monkeypatch.setenv("OCI_BAD_USER", oci_registry_basic.username)
    monkeypatch.setenv("OCI_BAD_PASSWORD", "wrong-password-123")
    items, probe = run_oci(tmp_path, url=oci_registry_basic.url, username_env="OCI_BAD_USER",
                           password_env="OCI_BAD_PASSWORD")
    [u] = unobserved(items)
    assert "rejected" in u.reason and "HTTP 401" in u.reason and "OCI_BAD_USER" in u.reason
    assert "\n" not in u.reason
    assert set(u.signals) >= {"image", "security.signing"}  # capabilities become unknown
    assert "wrong-password-123" not in as_text(items)
    assert len(probe.last_walk.client.log) <= 3  # gives up, no retry storm


def test_wrong_token_credentials(oci_registry_token: Registry, monkeypatch, tmp_path):
    monkeypatch.setenv("OCI_BAD_USER", oci_registry_token.username)
    monkeypatch.setenv("OCI_BAD_PASSWORD", "wrong-token-pw-456")
    items, _ = run_oci(tmp_path, url=oci_registry_token.url, username_env="OCI_BAD_USER",
                       password_env="OCI_BAD_PASSWORD")
    [u] = unobserved(items)
    assert "auth service" in u.reason and "refused" in u.reason and "HTTP 401" in u.reason
    assert "wrong-token-pw-456" not in as_text(items)


def test_repository_that_404s(oci_registry: Registry, tmp_path):
    items, _ = run_oci(tmp_path, url=oci_registry.url, repositories=["ml/missing", "ml/fraud"])
    [u] = unobserved(items)
    assert u.what.endswith("/ml/missing")
    assert "not found" in u.reason and "404" in u.reason and "NAME_UNKNOWN" in u.reason
    assert u.signals == ()  # one missing repository hides nothing else
    assert by_signal(items, "image.unversioned", "ml/fraud")  # the audit went on


def test_malformed_manifests_and_config(oci_registry: Registry, tmp_path):
    items, _ = run_oci(tmp_path, url=oci_registry.url, repositories=["ml/broken", "ml/fraud"])
    reasons = {u.what.rsplit(":", 1)[-1]: u.reason for u in unobserved(items)}
    assert reasons["noconfig"] == "malformed: manifest without a config descriptor"
    assert reasons["1.0.0"] == "malformed: image config blob is not JSON"
    assert "HTTP 500" in reasons["garbage"]  # the registry itself cannot parse that one
    assert all(u.signals == () for u in unobserved(items))
    # the repository is still classified from its tag list, and the rest went on
    assert by_signal(items, "image.versioned", "ml/broken")
    assert by_signal(items, "image.unversioned", "ml/fraud")


def test_url_that_is_not_a_registry(tmp_path):
    with html_server() as url:
        items, _ = run_oci(tmp_path, url=url)
    [u] = unobserved(items)
    assert u.reason.startswith("not an OCI/Docker registry")
    assert "text/html" in u.reason
    assert u.signals


def test_unreachable_registry(tmp_path):
    from tests.servers._util import free_port

    items, _ = run_oci(tmp_path, url=f"http://127.0.0.1:{free_port()}")
    [u] = unobserved(items)
    assert "is unreachable: connection refused" in u.reason and u.signals


def test_server_that_hangs_times_out(tmp_path):
    with hanging_server() as url:
        started = time.monotonic()
        items, _ = run_oci(tmp_path, url=url, request_timeout=1)
        elapsed = time.monotonic() - started
    [u] = unobserved(items)
    assert "no answer within 1s" in u.reason
    assert u.signals
    assert elapsed < 5


def test_probe_timeout_bounds_a_hanging_server(tmp_path):
    """The target's own timeout wins over a longer request_timeout."""
    with hanging_server() as url:
        started = time.monotonic()
        items, _ = run_oci(tmp_path, timeout=1.5, url=url, request_timeout=30)
        elapsed = time.monotonic() - started
    [u] = unobserved(items)
    assert "no answer" in u.reason
    assert elapsed < 5
