"""A detection is one declaration: a detector declares the files it reads and the signals it
emits; what it is shown, the order it runs in and the signals it may report follow from that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probes.git import detect
from probes.git.declare import Detector, Files, ordered
from tests.repos import audit_repo, files_of, make_repo


def test_every_detector_declares_an_area_signals_and_files():
    plan = detect.detectors()
    assert len({d.area for d in plan}) == len(plan)
    for d in plan:
        assert d.signals, d.area
        assert d.area == "history" or d.files.matches("x") is False  # nothing matches by accident


def test_detectors_run_after_the_areas_they_use():
    areas = [d.area for d in detect.detectors()]
    assert areas.index("dependencies") > areas.index("environments")
    assert areas.index("code") > areas.index("dependencies")
    a, b = Detector("a", ("x",), after=("b",)), Detector("b", ("y",))
    assert [d.area for d in ordered([a, b])] == ["b", "a"]
    with pytest.raises(ValueError, match="cycle"):
        ordered([Detector("a", ("x",), after=("b",)), Detector("b", ("y",), after=("a",))])


def test_the_union_of_declarations_is_what_the_tree_pass_keeps():
    union = Files.union(d.files for d in detect.detectors())
    for path in ("Dockerfile.gpu", "requirements/prod.txt", ".dvc/config", "infra/main.tf",
                 "src/model_tests.py", "charts/x/Chart.yaml", "OWNERS"):
        assert union.matches(path.lower()), path
    assert not union.matches("data/train.csv")


def _custom(scan) -> Iterator:
    for entry in scan.find(lambda e: True):
        yield scan.ev("custom.setting", 2, entry.path, 1)
    yield scan.ev("custom.other", 2, "mlflow.ini", 1)


def test_a_new_detector_sees_its_declared_files_and_only_declared_signals_pass(tmp_path, monkeypatch):
    extra = Detector("custom", ("custom.setting",), Files(names=frozenset({"mlflow.ini"})), _custom)
    plan = detect.detectors()
    monkeypatch.setattr(detect, "detectors", lambda: [*plan, extra])
    repo = make_repo(tmp_path / "r", {"conf/mlflow.ini": "[server]\n", "tests/mlflow.ini": "[x]\n"})
    evidence, unobserved = audit_repo(repo, tmp_path)
    # declared file seen (the copy under tests/ is not shown: a test cannot establish "custom")
    assert files_of(evidence, "custom.setting") == {"conf/mlflow.ini"}
    assert not files_of(evidence, "custom.other")
    assert [u.reason for u in unobserved] == ["emitted signals it does not declare: custom.other"]
