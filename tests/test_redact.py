"""No secret reaches a report: redaction at the Evidence boundary."""

from __future__ import annotations

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.redact import redact, register_secret

SECRETS = {
    "https://alice:s3cretpass@git.example.com/team/model.git": "s3cretpass",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    "curl -H 'Authorization: Bearer abcdef1234567890abcdef'": "abcdef1234567890abcdef",
    "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "key AKIAIOSFODNN7EXAMPLE used": "AKIAIOSFODNN7EXAMPLE",
    "git clone https://github_pat_11ABCDEFG0123456789_abcdefghijklmnop@github.com/o/r":
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "clone https://x-oauth:github_pat_11ABCDEFG0123456789_zz@host/r": "github_pat_11ABCDEFG0123456789_zz",
    "glpat-abcdefghij0123456789 in a log": "glpat-abcdefghij0123456789",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U":
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "MLFLOW_TRACKING_PASSWORD: hunter2hunter2": "hunter2hunter2",
}


def test_known_secret_shapes_are_masked():
    for text, secret in SECRETS.items():
        assert secret not in redact(text), text


def test_ci_secret_references_stay_readable():
    assert redact("password: ${{ secrets.REGISTRY_PASSWORD }}") == "password: ${{ secrets.REGISTRY_PASSWORD }}"


def test_registered_secret_is_masked_anywhere():
    register_secret("plain-looking-value-42")
    assert "plain-looking-value-42" not in redact("connected with plain-looking-value-42 ok")


def test_evidence_and_unobserved_redact_on_construction():
    e = Evidence(signal="ci.deploy_step", strength=Strength.CONFIGURED, target="t",
                 locator="git+https://bob:pw123456@host/r.git@abc#ci.yml:3",
                 attributes={"cmd": "docker login -p pw123456 --password=pw123456"},
                 excerpt="password=pw123456")
    blob = str(e.to_dict())
    assert "pw123456" not in blob
    u = Unobserved("t", "git", "clone", "fatal: could not read from https://bob:pw123456@host/r.git\nmore")
    assert "pw123456" not in u.reason and "\n" not in u.reason


# Shapes found in CI files, alert routes, SageMaker descriptions and connection strings.
MORE_SECRETS = {
    "curl -X POST https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijKLMNOP12345678":
        "abcdefghijKLMNOP12345678",
    "notify: https://contoso.webhook.office.com/webhookb2/1234-abcd@5678-efgh/IncomingWebhook/0a1b2c3d4e5f/99aa":
        "0a1b2c3d4e5f",
    "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789":
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "Posts to https://chat.example.com/hooks/xyz7a8b9c0d1e2f3g4h5i6j7k8 on failure":
        "xyz7a8b9c0d1e2f3g4h5i6j7k8",
    "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&se=2030-01-01&sig=Zm9vYmFyYmF6MTIzNA%3D%3D":
        "Zm9vYmFyYmF6MTIzNA",
    "https://api.example.com/v1/export?token=s3cr3tTok3nValue&page=2": "s3cr3tTok3nValue",
    "AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net":
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==",
    '{"Authorization": "Basic dXNlcjpodW50ZXIyaHVudGVyMg=="}': "dXNlcjpodW50ZXIyaHVudGVyMg==",
    "sent header Basic dXNlcjpodW50ZXIyaHVudGVyMg== to the proxy": "dXNlcjpodW50ZXIyaHVudGVyMg==",
    "curl -u admin:hunter2hunter2 https://x": "hunter2hunter2",
    '{"password": "hunter2hunter2"}': "hunter2hunter2",
    "mlflow server --db-password hunter2hunter2": "hunter2hunter2",
}


def test_webhook_urls_query_tokens_sas_and_basic_auth_are_masked():
    for text, secret in MORE_SECRETS.items():
        assert secret not in redact(text), text


def test_the_readable_part_of_a_masked_url_stays():
    assert redact("https://api.example.com/x?token=s3cr3tTok3n&page=2") == \
        "https://api.example.com/x?token=***&page=2"
    assert redact("https://hooks.slack.com/services/T01/B02/abcdef123456") == \
        "https://hooks.slack.com/services/***"


def test_prose_keeps_its_words():
    """Only ``key: value`` / ``key=value`` shapes are secrets, not the word after a keyword."""
    for text in ("cannot read credentials: anonymous pull refused",
                 "no credentials found for host registry.local",
                 "token expired for the registry",
                 "a basic understanding of the pipeline",
                 "docker run -u 1000:1000 trainer",
                 'curl -u "$USER:$PASS" https://x',
                 "http://alertmanager-receiver:5001/webhook",
                 "git+file:///repo@abc#.githooks/pre-commit"):
        assert redact(text) == text


def test_secrets_registered_while_other_threads_redact(monkeypatch):
    """Probe threads register credentials while others redact: no 'set changed size'."""
    import sys
    import threading

    import auditor.redact as redact_module

    # the registered values are dropped again after the test, keeping redaction fast
    monkeypatch.setattr(redact_module, "_extra", redact_module._extra)
    errors: list[BaseException] = []
    done = threading.Event()
    calls = [0]

    def reader() -> None:
        try:
            while not done.is_set():
                redact("nothing secret in this line")
                calls[0] += 1
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded machine would
    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(300):
            register_secret(f"registered-concurrently-{i:05d}")
            seen = calls[0]
            while calls[0] < seen + 2 and not errors:  # let readers run between registrations
                pass
    finally:
        done.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(interval)
    assert not errors
    assert "registered-concurrently-00042" not in redact("x registered-concurrently-00042 y")


def test_a_password_and_the_pair_it_belongs_to_are_masked_whole():
    register_secret("pw-in-pair-123")
    register_secret("someuser:pw-in-pair-123")
    assert redact("userinfo someuser:pw-in-pair-123 here") == "userinfo *** here"
