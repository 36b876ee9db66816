"""report.md carries placements, blockers with next steps, and evidence locators."""

from __future__ import annotations

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from reports.markdown import MarkdownReport

pytestmark = pytest.mark.usefixtures("test_plugin")


def test_markdown_report_content(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@1#a.py:1"},
             {"signal": "env.lockfile", "locator": "git+file:///r@1#uv.lock:1"},
             {"signal": "compute.workspace", "locator": "git+file:///r@1#.devcontainer/devcontainer.json:2"},
             {"signal": "monitoring.model_rule", "locator": "git+file:///r@1#k8s/rules.yaml:9"}]
    targets = [build_target({"name": "svc", "kind": "facts", "facts": facts, "labels": {"team": "core"}}),
               build_target({"name": "down", "kind": "facts", "fail": "connection refused"})]
    md = MarkdownReport().render(run_audit(AuditConfig(targets=targets), cache_dir=tmp_path))
    assert "| seven_stages | Organisation | **1** · Accelerate research" in md
    assert "### To reach stage 2 (Deployment)" in md
    assert "Log parameters and metrics of every training run" in md  # next step for experiment tracking
    assert "`git+file:///r@1#uv.lock:1`" in md
    assert "Already met above the placement (imbalance): Production model monitoring (stage 4)" in md
    assert "**Partial audit.**" in md and "connection refused" in md


def test_markdown_covers_every_framework_and_names_blockers_by_title(tmp_path):
    facts = [{"signal": "vcs.repository", "strength": "operating", "locator": "git+file:///r@1#a.py:1"}]
    target = build_target({"name": "svc", "kind": "facts", "facts": facts})
    doc = run_audit(AuditConfig(targets=[target]), cache_dir=tmp_path,
                    frameworks=["seven_stages", "google_mlops_levels"])
    md = MarkdownReport().render(doc)
    google = md.split("## Google Cloud MLOps levels (0-2)", 1)[1]
    assert "### Target `svc` — stage 0" in google and "To reach stage 1 (" in google
    placements = md.split("## Placements", 1)[1].split("\n## ", 1)[0]
    assert "Reproducible environments (unmet)" in placements
    assert "reproducible_environment" not in placements  # titles, not ids


def test_an_unknown_from_a_source_that_failed_says_to_fix_it_not_to_add_a_target(tmp_path):
    """A repository whose history could not be read leaves version control unknown: the way
    to settle it is to make that repository readable, not to add a target named after it."""
    from reports.view import assumptions

    lock = [{"signal": "env.lockfile", "locator": "git+file:///r@1#uv.lock:1"}]
    broken = build_target({"name": "churn", "kind": "facts", "facts": lock, "fail": "bad object"})
    ok = build_target({"name": "svc", "kind": "facts", "facts": [
        {"signal": "vcs.repository", "strength": "operating"}, *lock]})
    doc = run_audit(AuditConfig(targets=[broken, ok]), cache_dir=tmp_path)
    lines = [line for line in assumptions(doc["placements"]) if line.startswith("Version control")]
    assert lines and lines[0].endswith("could not be read — fix what stopped it being read (see not "
                                       "observed) to settle it [target churn]"), lines
    md = MarkdownReport().render(doc)
    assert "add a churn target" not in md
    from reports.html import HtmlReport

    html = HtmlReport().render(doc)
    assert ("could not observe churn — fix what stopped it being read (see not observed) to "
            "settle it") in html
    assert "add a churn target" not in html

    import io

    from rich.console import Console

    from reports.console import print_summary

    out = io.StringIO()
    print_summary(doc, Console(file=out, width=200))
    assert "fix what stopped churn being read" in out.getvalue()
    assert "add a churn target" not in out.getvalue()


def test_members_assumed_for_different_reasons_are_listed_under_their_own_reasons(tmp_path):
    """Two repositories whose history could not be read: listed together as unreadable
    themselves (never one under the other's name: a fleet with forty unreadable repositories
    gets one line, not forty), and the organisation under the reason naming both."""
    from reports.view import assumptions

    lock = [{"signal": "env.lockfile", "locator": "git+file:///r@1#uv.lock:1"}]
    targets = [build_target({"name": name, "kind": "facts", "facts": lock, "fail": "bad object"})
               for name in ("churn", "fraud")]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    lines = [line for line in assumptions(doc["placements"]) if line.startswith("Version control")]
    why = {line.rsplit(" [", 1)[1].rstrip("]"): line.rsplit(" [", 1)[0] for line in lines}
    assert set(why) == {"target churn, target fraud", "organisation"}, lines
    assert "could not be read — fix what stopped it being read" in why["target churn, target fraud"]
    assert "could not observe churn and fraud" in why["organisation"]
    md = MarkdownReport().render(doc)
    assert "\nMedian of 2 member(s) (stage 1: 2)" in md and "member(s): median" not in md

    import io

    from rich.console import Console

    from reports.console import print_summary

    out = io.StringIO()
    print_summary(doc, Console(file=out, width=300))
    assert "being read (see not observed) to settle it [target churn, target fraud]" in out.getvalue()
    assert "[organisation]" in out.getvalue()  # the scopes are text, never taken for markup


def test_lists_are_lists_in_markdown(tmp_path):
    """Each version drift on its own line, and a blank line after a team's member list (a
    line right after a list item is read as part of it, a table too)."""
    def facts(version: str) -> list[dict]:
        return [{"signal": "vcs.repository", "strength": "operating"},
                {"signal": "tool.experiment_tracking", "locator": "git+file:///r@1#requirements.txt:1",
                 "attributes": {"tool": "mlflow", "version": version}},
                {"signal": "env.pinned_requirements", "locator": "git+file:///r@1#requirements.txt:2",
                 "attributes": {"tool": "pandas", "version": version}}]
    targets = [build_target({"name": f"svc{i}", "kind": "facts", "labels": {"team": f"t{i}"},
                             "facts": facts(f"2.{i}.0")}) for i in range(2)]
    md = MarkdownReport().render(run_audit(AuditConfig(targets=targets), cache_dir=tmp_path))
    drift = md.split("**Version drift**", 1)[1].split("\n## ", 1)[0]
    items = [line for line in drift.splitlines() if line.startswith("- ")]
    assert len(items) >= 2 and all(line.count(" (") <= 4 for line in items), drift
    team = md.split("## Team `t0`", 1)[1]
    members = team.split("\n- Target `svc0`: stage", 1)[1].split("\n", 2)
    assert members[1] == "", team[:400]


def test_a_fleet_summary_names_kinds_of_scope_and_shows_its_lowest_projects(tmp_path):
    """At fleet size the console lists the organisation, every team and the lowest-placed
    projects (the rest counted by stage), and an assumption's line counts the scopes it holds
    for instead of naming every one; the reports still list every project."""
    import io

    from rich.console import Console

    from reports.console import MAX_TARGET_ROWS, print_summary
    from reports.view import assumptions
    from tests.repos import make_repo

    n = MAX_TARGET_ROWS + 4
    pinned = {"README.md": "# model\n", "requirements.txt": "scikit-learn==1.4.2\npandas==2.2.2\n",
              "Dockerfile": "FROM python:3.11-slim\n"}
    targets = [build_target({"name": f"svc-{i:02d}", "kind": "git", "labels": {"team": f"t{i % 2}"},
                             "path": str(make_repo(tmp_path / f"svc-{i:02d}",
                                                   pinned if i != n - 1 else {"README.md": "# x\n"}))})
               for i in range(n)]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path / "cache")
    stages = {p["scope"]["name"]: p["stage"] for p in doc["placements"] if p["scope"]["kind"] == "target"}
    low = f"svc-{n - 1:02d}"
    assert stages[low] < min(s for name, s in stages.items() if name != low)

    out = io.StringIO()
    print_summary(doc, Console(file=out, width=200))
    text = out.getvalue()
    assert f"target {low} " in text  # the lowest-placed project, though last by name
    assert len([name for name in stages if f"target {name} " in text]) == MAX_TARGET_ROWS
    assert f"4 more targets not shown here (stage {stages['svc-00']}: 4)" in text
    assert "team t0" in text and "team t1" in text and "organisation" in text

    provisional = sum(1 for p in doc["placements"] if p["scope"]["kind"] == "target" and p["provisional"])
    assert provisional > MAX_TARGET_ROWS
    fleet = f"[organisation, 2 teams and {provisional} targets]"
    lines = assumptions(doc["placements"])
    assert any(line.endswith(fleet) for line in lines), lines
    assert not any("target svc-00" in line for line in lines)
    assert fleet in text
    md = MarkdownReport().render(doc)
    assert fleet in md and all(f"Target `{name}`" in md for name in stages)


def test_many_unreadable_repositories_give_one_line_and_a_bounded_list_of_names(tmp_path):
    """Fourteen repositories that could not be read (a credentials problem across a fleet):
    one assumption line for all of them, and a roll-up's reason names ten and counts the rest
    (settle_with keeps every name)."""
    import io

    from rich.console import Console

    from reports.console import print_summary
    from reports.view import assumptions

    lock = [{"signal": "env.lockfile", "locator": "git+file:///r@1#uv.lock:1"}]
    ok = lock + [{"signal": "vcs.repository", "strength": "operating"},
                 {"signal": "compute.workspace", "locator": "git+file:///r@1#.devcontainer/devcontainer.json:2"}]
    broken = [f"repo-{i:02d}" for i in range(14)]
    targets = [build_target({"name": name, "kind": "facts", "facts": lock, "fail": "bad object"})
               for name in broken]
    targets += [build_target({"name": f"ok-{i:02d}", "kind": "facts", "facts": ok}) for i in range(20)]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    org = next(c for c in doc["capabilities"] if c["scope"]["kind"] == "org" and c["id"] == "version_control")
    assert org["reason"].startswith(f"could not observe {', '.join(broken[:10])} and 4 more (")
    assert org["settle_with"] == broken
    lines = [line for line in assumptions(doc["placements"]) if line.startswith("Version control")]
    assert lines == ["Version control (stage 1): could not be read — fix what stopped it being read "
                     "(see not observed) to settle it [14 targets]"], lines
    out = io.StringIO()
    print_summary(doc, Console(file=out, width=400))
    assert "repo-09 and 4 more being read" in out.getvalue()
    assert "repo-10" not in out.getvalue().split("Not seen by this audit", 1)[1]


def test_every_report_gives_the_same_advice_with_the_right_article(tmp_path):
    """What settles an unknown is worded once: "add an aws target", never "add a aws target",
    in the engine's reasons, the console, Markdown and HTML alike."""
    import io

    from rich.console import Console

    from auditor.engine import add_target
    from reports.console import print_summary
    from reports.html import HtmlReport

    assert add_target(["aws"]) == "add an aws target"
    assert add_target(["mlflow", "kubernetes"]) == "add an mlflow or kubernetes target"
    assert add_target(["kubernetes", "aws"]) == "add a kubernetes or aws target"
    from tests.repos import make_stage2_repo

    make_stage2_repo(tmp_path / "svc")
    doc = run_audit(AuditConfig(targets=[build_target({"name": "svc", "kind": "git",
                                                       "path": str(tmp_path / "svc")})]),
                    cache_dir=tmp_path / "cache")
    wanted = {tuple(c["settle_with"]) for c in doc["capabilities"] if c.get("settle_with")}
    vowel = sorted(w for w in wanted if w[0][0] in "aeiou")
    assert vowel, wanted  # some capability is settled by a kind whose name starts with a vowel
    out = io.StringIO()
    print_summary(doc, Console(file=out, width=300))
    reports = (MarkdownReport().render(doc), HtmlReport().render(doc),
               " ".join(c.get("reason", "") for c in doc["capabilities"]))
    for text in (*reports, out.getvalue()):
        assert " add a a" not in text and " add a o" not in text
    for text in reports:  # the console shows only what blocks a placement
        assert add_target(list(vowel[0])) in text


def test_a_tool_a_fleet_shares_names_ten_of_its_targets_and_counts_the_rest(tmp_path):
    """The inventory's cells would otherwise list hundreds of repositories (and as many
    teams, when targets have no team label); the JSON report keeps every name."""
    from reports.html import HtmlReport

    targets = [build_target({"name": f"svc-{i:02d}", "kind": "facts", "facts": [
        {"signal": "tool.experiment_tracking", "locator": f"git+file:///svc-{i:02d}@1#train.py:1",
         "attributes": {"tool": "mlflow", "version": "2.16.0" if i % 3 else "2.9.0"}}]})
        for i in range(25)]
    doc = run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)
    users = next(t["targets"] for t in doc["inventory"]["tools"] if t["tool"] == "mlflow")
    assert users == [f"svc-{i:02d}" for i in range(25)]
    md, html = MarkdownReport().render(doc), HtmlReport().render(doc)
    row = next(line for line in md.splitlines() if line.startswith("| Experiment tracking | mlflow |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == f"{', '.join(users[:10])} and 15 more", cells
    assert cells[3] == ", ".join(f"(target {u})" for u in users[:10]) + " and 15 more"
    newer = [u for i, u in enumerate(users) if i % 3]
    assert cells[2].startswith(f"2.16.0 ({', '.join(f'(target {u})' for u in newer[:10])} and 6 more), 2.9.0 (")
    assert f"<td>{', '.join(users[:10])} and 15 more</td>" in html and "svc-09, svc-10" not in html
