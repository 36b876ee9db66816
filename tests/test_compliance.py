"""Policy is judged by compliance, not by probes: the same evidence, another policy, another
verdict — and the same evidence ids."""

from __future__ import annotations

from auditor import compliance
from auditor.evidence import Evidence, Strength
from auditor.probe import Policy


def _regions(*names: str) -> list[Evidence]:
    return [Evidence(signal="residency.region", strength=Strength.CONFIGURED, target="acct",
                     locator=f"arn:aws:s3:{n}::bucket-{n}", attributes={"region": n, "resources": 2})
            for n in names]


def _residency(evidence: list[Evidence], policy: Policy | None) -> dict:
    rows = compliance.build([], evidence, [], policy)
    return next(r for r in rows if r["id"] == "data_residency")


def test_regions_outside_the_allowed_list_fail_the_residency_control():
    evidence = _regions("eu-west-1", "us-east-1")
    row = _residency(evidence, Policy(allowed_regions=("eu-west-1", "eu-central-1")))
    assert row["status"] == "fail"
    assert row["violations"] == ["arn:aws:s3:us-east-1::bucket-us-east-1"]


def test_no_policy_allows_every_region_and_evidence_does_not_change_with_policy():
    evidence = _regions("eu-west-1", "us-east-1")
    assert _residency(evidence, None)["status"] == "pass"
    assert _residency(evidence, Policy(allowed_regions=("us-east-1", "eu-west-1")))["status"] == "pass"
    assert [e.id for e in evidence] == [e.id for e in _regions("eu-west-1", "us-east-1")]
