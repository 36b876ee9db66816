"""Tempo figures that add up across a team: recency is the most recent, authors are people,
and every figure states its window and how it was combined."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target

pytestmark = pytest.mark.usefixtures("test_plugin")


def _target(name, team, *facts):
    return build_target({"name": name, "kind": "facts", "labels": {"team": team},
                         "facts": [{"signal": s, "attributes": a} for s, a in facts]})


def row(doc, scope, metric):
    return next(r for r in doc["tempo"] if r["scope"] == scope and r["metric"] == metric)


TEAM = {"kind": "team", "name": "core"}


def test_team_recency_is_its_most_recent_repository_not_the_mean(tmp_path):
    targets = [_target("a", "core", ("tempo.days_since_last_commit", {"value": 2, "unit": "days"})),
               _target("b", "core", ("tempo.days_since_last_commit", {"value": 400, "unit": "days"}))]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    r = row(doc, TEAM, "days_since_last_commit")
    assert (r["value"], r["combined"], r["targets"]) == (2, "most_recent", 2)


def test_authors_are_counted_once_across_repositories(tmp_path):
    targets = [_target("a", "core", ("tempo.active_authors", {"value": 2, "unit": "count", "window_days": 90,
                                                              "identities": ["p1", "p2"]})),
               _target("b", "core", ("tempo.active_authors", {"value": 2, "unit": "count", "window_days": 90,
                                                              "identities": ["p2", "p3"]}))]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    r = row(doc, TEAM, "active_authors")
    assert (r["value"], r["combined"], r["window_days"]) == (3, "distinct", 90)


def test_rates_sum_and_state_their_window(tmp_path):
    targets = [_target("a", "core", ("tempo.commits_per_week", {"value": 0, "unit": "per_week", "window_days": 90})),
               _target("b", "core", ("tempo.commits_per_week", {"value": 1.5, "unit": "per_week", "window_days": 90}))]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    r = row(doc, TEAM, "commits_per_week")
    assert (r["value"], r["combined"], r["window_days"]) == (1.5, "sum", 90)
    a = row(doc, {"kind": "target", "name": "a"}, "commits_per_week")
    assert (a["value"], a["window_days"]) == (0, 90)  # zero, and over which window


def test_one_person_committing_to_two_real_repositories_is_one_author(tmp_path):
    """End to end through the git probe: the same author in two repositories of a team."""
    from auditor import registry
    from tests.repos import make_repo

    registry._load_group.cache_clear()
    a = make_repo(tmp_path / "a", {"train.py": "print(1)\n"})
    b = make_repo(tmp_path / "b", {"serve.py": "print(2)\n"})
    targets = [build_target({"name": "a", "kind": "git", "path": str(a), "labels": {"team": "core"}}),
               build_target({"name": "b", "kind": "git", "path": str(b), "labels": {"team": "core"}})]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "cache",
                    now=datetime(2026, 2, 1, tzinfo=UTC))
    assert row(doc, {"kind": "target", "name": "a"}, "active_authors")["value"] == 1
    team = row(doc, TEAM, "active_authors")
    assert (team["value"], team["combined"], team["window_days"]) == (1, "distinct", 90)
    assert "ada@example.com" not in str(doc)  # people are counted, not named
    md = __import__("reports.markdown", fromlist=["MarkdownReport"]).MarkdownReport().render(doc)
    assert "| Team `core` | active_authors | 1 | count | last 90 days | distinct people across 2 targets |" in md


def test_a_fleets_row_cites_its_first_25_figures_and_counts_its_targets(tmp_path):
    """A team's or the organisation's row stands for every target's figure: it cites the
    first 25 evidence ids, as a capability result does, and says how many targets it
    combines; the median is still over all of them."""
    targets = [_target(f"svc-{i:02d}", "core", ("tempo.promotion_lead_time_days",
                                                 {"value": i, "unit": "days"})) for i in range(40)]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    own = sorted(i for r in doc["tempo"] if r["scope"]["kind"] == "target" for i in r["evidence"])
    assert len(own) == 40
    for scope in (TEAM, {"kind": "org", "name": "organisation"}):
        r = row(doc, scope, "promotion_lead_time_days")
        assert (r["value"], r["combined"], r["targets"]) == (19.5, "median", 40)
        assert r["evidence"] == own[:25]
