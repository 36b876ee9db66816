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
