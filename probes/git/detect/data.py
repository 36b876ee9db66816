"""Data versioning and lineage: DVC (dvc.yaml, dvc.lock, *.dvc, .dvc/config), git-lfs,
lakeFS, Delta; MLproject; Great Expectations and Feast project files.

An ``MLproject`` is an MLflow Projects run specification (entry points and their environment),
not an orchestrated pipeline: it shows code lineage and is reported as ``pipeline.run_spec``.
A Great Expectations project file shows the tool is set up; checkpoints and expectation suites
are the checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from auditor.redact import redact
from probes.git.declare import Detector, Files
from probes.git.scan import Scan

C, D = Strength.CONFIGURED, Strength.DECLARED


def detect(scan: Scan) -> Iterator[Evidence]:
    dvc_files = scan.find(lambda e: e.name.endswith(".dvc") and e.name != ".dvc")
    if dvc_files:
        yield scan.ev("data_versioning.store", C, dvc_files[0].path, 1, tool="dvc",
                      tracked_files=len(dvc_files))
    for entry in scan.find(lambda e: e.path.endswith(".dvc/config") or e.path == ".dvc/config"):
        text = scan.text(entry)
        if text is None:
            continue
        import configparser  # only for a repository with a DVC config

        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            scan.note(entry.path, f"invalid DVC config: {str(exc).splitlines()[0]}")
            continue
        remotes = [s for s in parser.sections() if s.startswith("'remote") or s.startswith("remote")]
        for section in remotes:
            url = parser.get(section, "url", fallback="")
            scheme = url.split("://", 1)[0] if "://" in url else "local"
            yield scan.ev("data_versioning.store", C, entry.path, _line(text, section), tool="dvc",
                          remote=section.split('"')[1] if '"' in section else section,
                          storage=scheme, url=redact(url)[:200])
    for entry in scan.find(lambda e: e.name == "dvc.yaml"):
        data = scan.parsed(entry)
        if data is None:
            continue
        stages = data.get("stages") if isinstance(data, dict) else None
        if isinstance(stages, dict) and stages:
            yield scan.ev("pipeline.definition", C, entry.path, data.line_of("stages"), tool="dvc",
                          stages=len(stages), names=list(stages)[:20])
    for entry in scan.find(lambda e: e.name == "dvc.lock"):
        data = scan.parsed(entry)
        if data is None:
            continue
        stages = data.get("stages") if isinstance(data, dict) else None
        if isinstance(stages, dict) and stages:
            hashed = sum(1 for s in stages.values() if isinstance(s, dict) and s.get("deps"))
            yield scan.ev("lineage.data", C, entry.path, data.line_of("stages"), tool="dvc",
                          stages=len(stages), stages_with_hashed_deps=hashed)
            yield scan.ev("lineage.code", C, entry.path, data.line_of("stages"), tool="dvc",
                          stages=len(stages))
    for entry in scan.find(lambda e: e.name == ".gitattributes"):
        text = scan.text(entry)
        if text is None:
            continue
        lfs = [(n, ln.split()[0]) for n, ln in enumerate(text.splitlines(), 1)
               if "filter=lfs" in ln and ln.split()]
        if lfs:
            yield scan.ev("data_versioning.store", C, entry.path, lfs[0][0], tool="git-lfs",
                          patterns=[p for _, p in lfs][:20], pattern_count=len(lfs))
    for entry in scan.find(lambda e: e.name in (".lakectl.yaml", "lakectl.yaml") or
                           e.name.endswith(".lakefs.yaml")):
        yield scan.ev("data_versioning.store", C, entry.path, 1, tool="lakefs")
    delta = scan.find(lambda e: e.path.endswith("_delta_log/") or "/_delta_log/" in e.path)
    if delta:
        yield scan.ev("data_versioning.store", C, delta[0].path, 1, tool="delta")
    for entry in scan.find(lambda e: e.name == "MLproject"):
        data = scan.parsed(entry)
        if data is None:
            continue
        points = data.get("entry_points") if isinstance(data, dict) else None
        if isinstance(points, dict):
            yield scan.ev("pipeline.run_spec", C, entry.path, data.line_of("entry_points"),
                          tool="mlflow-projects", entry_points=list(points)[:20])
            yield scan.ev("lineage.code", C, entry.path, 1, tool="mlflow-projects")
    for entry in scan.find(lambda e: e.name in ("great_expectations.yml", "great_expectations.yaml")):
        yield scan.ev("tool.data_validation", C, entry.path, 1, tool="great-expectations",
                      source="project")
    for entry in scan.find(lambda e: _GX_CHECK.search(e.path) is not None):
        yield scan.ev("data_validation.check", C, entry.path, 1, tool="great-expectations",
                      source="project")
    for entry in scan.find(lambda e: e.name == "feature_store.yaml"):
        yield scan.ev("feature_store.definition", C, entry.path, 1, tool="feast", source="project")


_GX_CHECK = lazy(r"(^|/)(gx|great_expectations)/(checkpoints|expectations)/.+\.(ya?ml|json)$")


def _line(text: str, section: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if section in line:
            return n
    return 1


DETECTOR = Detector(
    area="data versioning",
    signals=("data_versioning", "lineage", "pipeline", "data_validation", "feature_store",
             "tool.data_validation"),
    files=Files(names=frozenset({"dvc.yaml", "dvc.lock", ".gitattributes", "mlproject",
                                 "feature_store.yaml", "great_expectations.yml",
                                 "great_expectations.yaml", ".lakectl.yaml", "lakectl.yaml"}),
                suffixes=(".dvc", ".lakefs.yaml", "/.dvc/config"), dirs=(".dvc/",),
                contains=("_delta_log/", "great_expectations/", "gx/")),
    run=lambda scan: detect(scan))
