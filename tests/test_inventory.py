"""Tool inventory with versions per team, and drift across teams for Python packages as well
as container images."""

from __future__ import annotations

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target

pytestmark = pytest.mark.usefixtures("test_plugin")


def _target(name, team, *facts):
    return build_target({"name": name, "kind": "facts", "labels": {"team": team},
                         "facts": [{"signal": s, "attributes": a} for s, a in facts]})


@pytest.fixture
def doc(tmp_path):
    targets = [
        _target("churn", "retention",
                ("tool.experiment_tracking", {"tool": "mlflow", "version": "2.9.0", "package": "mlflow"}),
                ("env.packages", {"ecosystem": "python", "versions": {"pandas": "1.5.3", "numpy": "1.26.4"}}),
                ("env.container_image", {"tool": "base-image:python", "version": "3.10-slim"})),
        _target("fraud", "risk",
                ("tool.experiment_tracking", {"tool": "mlflow", "version": "3.1.0", "package": "mlflow"}),
                ("env.packages", {"ecosystem": "python", "versions": {"pandas": "2.2.2", "numpy": "1.26.4"}}),
                ("env.container_image", {"tool": "base-image:python", "version": "3.12-slim"})),
    ]
    return run_audit(AuditConfig(targets=targets), cache_dir=tmp_path)


def test_tools_list_their_versions_per_team(doc):
    mlflow = next(t for t in doc["inventory"]["tools"] if t["tool"] == "mlflow")
    assert mlflow["versions"] == [
        {"version": "2.9.0", "targets": ["churn"], "teams": ["retention"]},
        {"version": "3.1.0", "targets": ["fraud"], "teams": ["risk"]}]


def test_drift_across_teams_covers_python_packages_and_images(doc):
    drift = {(d["kind"], d["tool"]): d for d in doc["inventory"]["drift"]}
    assert set(drift) == {("package", "pandas"), ("package", "mlflow"), ("image", "base-image:python")}
    pandas = drift[("package", "pandas")]
    assert pandas["across_teams"] is True
    assert [(v["version"], v["teams"]) for v in pandas["versions"]] == [("1.5.3", ["retention"]),
                                                                       ("2.2.2", ["risk"])]
    assert ("package", "numpy") not in drift  # the same version everywhere is not drift


def test_a_real_repository_reports_its_pinned_packages(tmp_path):
    from tests.repos import audit_repo, make_repo

    path = make_repo(tmp_path / "r", {"requirements.txt": "pandas==2.2.2\nnumpy>=1.26\nscikit-learn==1.5.0\n"})
    evidence, _ = audit_repo(path, tmp_path / "cache")
    (packages,) = [e for e in evidence if e.signal == "env.packages"]
    assert packages.attributes["versions"] == {"pandas": "2.2.2", "scikit-learn": "1.5.0"}
    assert packages.locator.endswith("#requirements.txt")
