"""Entry points are read from the distributions on sys.path without importlib.metadata."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from auditor import registry


@pytest.fixture(autouse=True)
def _folder_scan(monkeypatch):
    """The folder scan itself, even when something on sys.path would send it to
    importlib.metadata (as other tests' libraries may leave behind)."""
    monkeypatch.setattr(registry, "_needs_metadata", lambda: False)


def _dist(folder, name, text):
    dist = folder / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(text))


def test_every_group_is_read_in_one_pass_over_sys_path(monkeypatch):
    listed = []
    real = os.scandir
    monkeypatch.setattr(registry, "_read", None)
    monkeypatch.setattr(registry.os, "scandir", lambda path: listed.append(path) or real(path))
    probes = registry.scan(registry.PROBE_GROUP)
    once = len(listed)
    reports = registry.scan(registry.REPORT_GROUP)
    assert ("git", "probes.git:GitProbe") in probes and ("json", "reports.json_report:JsonReport") in reports
    assert once and len(listed) == once  # the reports came from the same reading


def test_a_distribution_installed_after_a_scan_is_found_by_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    os.utime(tmp_path, ns=(0, 0))  # a folder's time has coarse steps: the install must show
    assert ("late", "tests.support:FactsProbe") not in registry.scan(registry.PROBE_GROUP)
    _dist(tmp_path, "mlops_auditor_late", """\
        [mlops_auditor.probes]
        late = tests.support:FactsProbe
        """)
    assert ("late", "tests.support:FactsProbe") in registry.scan(registry.PROBE_GROUP)


def test_the_first_distribution_of_a_name_on_sys_path_wins(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _dist(first, "mlops_auditor_twice", "[mlops_auditor.reports]\ntwice = first:Report\n")
    _dist(second, "Mlops_Auditor.Twice", "[mlops_auditor.reports]\ntwice = second:Report\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(first), str(second)])
    found = [value for name, value in registry.scan(registry.REPORT_GROUP) if name == "twice"]
    assert found == ["first:Report"]
