"""Declared dependencies (requirements, pyproject, setup.cfg/py, Pipfile, conda) and pinning."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from auditor.catalog import normalise_package, taxonomy
from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.scan import Declared, Scan
from probes.git.tree import Entry
from probes.git.yamlines import find_line, load_toml

C, D = Strength.CONFIGURED, Strength.DECLARED

#: share of exactly pinned runtime dependencies from which a file counts as pinned
NEARLY_ALL = 0.9
_DEV_WORDS = frozenset({"dev", "develop", "development", "test", "tests", "testing", "lint",
                        "linting", "docs", "doc", "ci", "style", "typing", "format", "mypy",
                        "flake8", "devcontainer", "pre", "commit", "notebook", "notebooks"})

_REQ = lazy(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_PIN = lazy(r"^(===?)\s*([^\s,;*]+)\s*$")


def is_requirements(e: Entry) -> bool:
    n, p = e.name.lower(), e.lower
    return (n.endswith(".txt") and ("requirements" in n or p.startswith("requirements/")
                                    or "/requirements/" in p)) or n == "requirements.in"


def parse_requirement(spec: str) -> tuple[str, str | None, bool] | None:
    """(normalised name, exact version or None, pinned) for one PEP 508 string."""
    spec = spec.split(";", 1)[0].split(" #", 1)[0].strip()
    if not spec or spec.startswith(("-", "#", "git+", "http:", "https:", ".", "/")) or "://" in spec:
        return None
    m = _REQ.match(spec)
    if not m:
        return None
    rest = m.group(3).strip().split("--hash", 1)[0].strip()
    pin = _PIN.match(rest)
    version = pin.group(2) if pin else None
    return normalise_package(m.group(1)), version, bool(pin)


def _conda_requirement(spec: str) -> tuple[str, str | None, bool] | None:
    if not isinstance(spec, str):
        return None
    spec = spec.split("::", 1)[-1].strip()
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(=|==|>=|<=|>|<|~=)?\s*([^\s=]+)?", spec)
    if not m:
        return None
    exact = m.group(2) in ("=", "==") and m.group(3) and "*" not in m.group(3)
    return normalise_package(m.group(1)), m.group(3) if exact else None, bool(exact)


def purpose(path: str) -> str:
    """``development`` for a dependency file of tooling (``requirements-dev.txt``,
    ``requirements/lint-requirements.txt``, ``.devcontainer/requirements.txt``), else ``runtime``."""
    words = set(re.split(r"[^a-z]+", path.lower()))
    return "development" if words & _DEV_WORDS else "runtime"


def pinning(total: int, pinned: int) -> dict:
    """Pinning attributes shared by requirements and conda files: exact pins, and whether
    nearly all (``NEARLY_ALL``) are exact, which counts as pinned."""
    return {"packages": total, "pinned": pinned, "fully_pinned": bool(total) and pinned == total,
            "nearly_pinned": bool(total) and pinned >= NEARLY_ALL * total}


def detect(scan: Scan) -> Iterator[Evidence]:
    for entry in scan.find(is_requirements):
        yield from _requirements(scan, entry)
    for entry in scan.find(lambda e: e.name == "pyproject.toml"):
        yield from _pyproject(scan, entry)
    for entry in scan.find(lambda e: e.name == "Pipfile"):
        yield from _pipfile(scan, entry)
    for entry in scan.find(lambda e: e.name == "setup.cfg"):
        yield from _setup_cfg(scan, entry)
    for entry in scan.find(lambda e: e.name == "setup.py"):
        yield from _setup_py(scan, entry)
    from probes.git.detect.environment import is_conda_env

    for entry in scan.find(is_conda_env):
        yield from _conda(scan, entry)
    yield from _declared_tools(scan)
    yield from _package_versions(scan)


#: pinned packages listed per repository in ``env.packages`` (inventory compares them)
MAX_PACKAGES = 500


def _package_versions(scan: Scan) -> Iterator[Evidence]:
    """One informational ``env.packages`` per repository: the exact version of each declared
    Python package that is pinned or locked, so inventory can show the same package at
    different versions across teams."""
    pins = {name: where.version or scan.locked_versions.get(name)
            for name, where in sorted(scan.declared.items())}
    pins = {name: version for name, version in pins.items() if version}
    if not pins:
        return
    first = min(scan.declared.values(), key=lambda d: (d.path, d.line))
    yield scan.ev("env.packages", D, first.path, None, ecosystem="python",
                  versions=dict(list(pins.items())[:MAX_PACKAGES]), count=len(pins))


def _record(scan: Scan, name: str, version: str | None, path: str, line: int) -> None:
    if name not in scan.declared or (version and not scan.declared[name].version):
        scan.declared[name] = Declared(name, version, path, line)


def _requirements(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    total, pinned, unpinned, hashed = 0, 0, [], "--hash" in text
    for n, line in enumerate(text.splitlines(), 1):
        parsed = parse_requirement(line)
        if not parsed:
            continue
        name, version, is_pinned = parsed
        total += 1
        pinned += is_pinned
        if not is_pinned:
            unpinned.append(name)
        _record(scan, name, version, entry.path, n)
    if total:
        yield scan.ev("env.pinned_requirements", C, entry.path, 1, file=entry.path,
                      purpose=purpose(entry.path), unpinned=unpinned[:20],
                      unpinned_count=len(unpinned), **pinning(total, pinned))
    if hashed and pinned == total and total:
        yield scan.ev("env.lockfile", C, entry.path, 1, tool="pip-hashes")


def _specs(scan: Scan, entry: Entry, text: str, specs: Iterable[str]) -> None:
    for spec in specs:
        if not isinstance(spec, str):
            continue
        parsed = parse_requirement(spec)
        if parsed:
            _record(scan, parsed[0], parsed[1], entry.path, find_line(text, spec.split(";")[0].strip()))


def _pyproject(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    read = scan.read_parsed(entry, load_toml)
    if read is None:
        return
    text, data = read
    project = data.get("project") or {}
    _specs(scan, entry, text, project.get("dependencies") or [])
    for extra in (project.get("optional-dependencies") or {}).values():
        _specs(scan, entry, text, extra or [])
    for group in (data.get("dependency-groups") or {}).values():
        _specs(scan, entry, text, [g for g in group or [] if isinstance(g, str)])
    poetry = (data.get("tool") or {}).get("poetry") or {}
    sections = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    sections += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    for section in sections:
        for name, spec in section.items():
            if name.lower() == "python":
                continue
            version = spec if isinstance(spec, str) else (spec or {}).get("version") if isinstance(spec, dict) else None
            exact = version if version and re.fullmatch(r"=?=?\d[\w.]*", version) else None
            _record(scan, normalise_package(name), exact.lstrip("=") if exact else None, entry.path,
                    find_line(text, name))
    if "kedro" in (data.get("tool") or {}):
        yield scan.ev("pipeline.definition", C, entry.path, find_line(text, "[tool.kedro]"),
                      tool="kedro")


def _pipfile(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    read = scan.read_parsed(entry, load_toml)
    if read is None:
        return
    text, data = read
    for section in ("packages", "dev-packages"):
        for name, spec in (data.get(section) or {}).items():
            version = spec if isinstance(spec, str) and spec.startswith("==") else None
            _record(scan, normalise_package(name), version[2:] if version else None, entry.path,
                    find_line(text, name))
    yield from ()


def _setup_cfg(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    import configparser  # only for a repository with a setup.cfg

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        scan.note(entry.path, f"invalid setup.cfg: {str(exc).splitlines()[0]}")
        return
    specs = parser.get("options", "install_requires", fallback="").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            specs += value.splitlines()
    _specs(scan, entry, text, [s.strip() for s in specs if s.strip()])
    yield from ()


def _setup_py(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    """install_requires / extras_require string literals; the file is parsed, never run."""
    text = scan.text(entry)
    if text is None:
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError) as exc:
        scan.note(entry.path, f"invalid Python: {getattr(exc, 'msg', exc)}")
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("install_requires", "extras_require",
                                                          "tests_require"):
            for const in ast.walk(node.value):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    parsed = parse_requirement(const.value)
                    if parsed:
                        _record(scan, parsed[0], parsed[1], entry.path, const.lineno)
    yield from ()


def _conda(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    data = scan.parsed(entry)
    if data is None:
        return
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        return
    deps = data["dependencies"]
    total = pinned = 0
    unpinned: list[str] = []
    for i, dep in enumerate(deps):
        if isinstance(dep, dict):
            for j, spec in enumerate(dep.get("pip") or []):
                parsed = parse_requirement(spec) if isinstance(spec, str) else None
                if parsed:
                    total += 1
                    pinned += parsed[2]
                    unpinned += [] if parsed[2] else [parsed[0]]
                    _record(scan, parsed[0], parsed[1], entry.path, dep["pip"].line_at(j))
            continue
        parsed = _conda_requirement(dep)
        if parsed and parsed[0] not in ("pip", "python"):
            total += 1
            pinned += parsed[2]
            unpinned += [] if parsed[2] else [parsed[0]]
            _record(scan, parsed[0], parsed[1], entry.path, deps.line_at(i))
    yield scan.ev("env.conda", C, entry.path, data.line_of("dependencies"), tool="conda",
                  purpose=purpose(entry.path), unpinned=unpinned[:20],
                  unpinned_count=len(unpinned), **pinning(total, pinned))


def _declared_tools(scan: Scan) -> Iterator[Evidence]:
    """One ``tool.<category>`` (declared) per known tool found in a dependency file."""
    tax = taxonomy()
    done: set[str] = set()
    for name, where in sorted(scan.declared.items()):
        tool = tax.by_package.get(name)
        if tool is None or tool.name in done:
            continue
        done.add(tool.name)
        version = where.version or scan.locked_versions.get(name)
        for category in tool.categories:
            yield scan.ev(f"tool.{category}", D, where.path, where.line, tool=tool.name,
                          version=version, package=name, source="dependency")


DETECTOR = Detector(
    area="dependencies",
    signals=("tool", "env", "pipeline.definition"),
    files=Files(names=frozenset({"pyproject.toml", "pipfile", "setup.cfg", "setup.py",
                                 "requirements.in"}),
                prefixes=("requirements", "environment", "conda", "env.", "env-", "env_"),
                contains=("requirements/",)),
    run=lambda scan: detect(scan),
    after=("environments",))
