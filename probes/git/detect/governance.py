"""Governance kept in the repository: model cards, CODEOWNERS and Prow OWNERS files, PR and issue
templates, tests a test runner would collect, pre-commit, CHANGELOG, dependency update bots.

A file named like a test (``test_*.py``, ``tests_*.py``, ``*_test.py``, ``*_tests.py``) is a test
only when it holds one (a ``test*`` function or method, or a ``unittest.TestCase``): an empty
placeholder or a script named ``test_x.py`` is not testing."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.scan import Scan
from probes.git.tree import Entry

C, D = Strength.CONFIGURED, Strength.DECLARED

_CARD_NAME = lazy(r"(^|/)(model[_-]?card[\w.-]*|modelcard[\w.-]*)\.(md|rst|ya?ml|json|txt)$", re.I)
_CARD_SECTIONS = lazy(r"intended use|limitations?|training data|evaluation|metrics|"
                      r"ethical considerations|caveats|model details|bias|out-of-scope", re.I)
_SECURITY_HOOKS = lazy(r"detect-secrets|gitleaks|bandit|trufflehog|safety|pip-audit|semgrep")


def detect(scan: Scan) -> Iterator[Evidence]:
    for entry in scan.find(lambda e: bool(_CARD_NAME.search(e.path))):
        yield from _model_card(scan, entry)
    owners = scan.find(lambda e: e.path in ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS",
                                             ".gitlab/CODEOWNERS"))
    yield from _prow_owners(scan)
    for entry in owners[:1]:
        text = scan.text(entry) or ""
        rules = [(n, ln) for n, ln in enumerate(text.splitlines(), 1)
                 if ln.strip() and not ln.lstrip().startswith("#") and "@" in ln]
        if rules:
            yield scan.ev("review.codeowners", C, entry.path, rules[0][0], rules[0][1], rules=len(rules))
        else:
            yield scan.ev("review.codeowners", D, entry.path, 1, rules=0)
    templates = scan.find(lambda e: bool(re.search(
        r"(^|/)(\.github/)?(pull_request_template\.md|PULL_REQUEST_TEMPLATE/[^/]+\.md)$|"
        r"^\.gitlab/merge_request_templates/[^/]+\.md$|^docs/pull_request_template\.md$", e.path, re.I)))
    if templates:
        yield scan.ev("review.pr_template", C, templates[0].path, 1, templates=len(templates))
    issues = scan.find(lambda e: e.lower.startswith((".github/issue_template", ".gitlab/issue_templates")))
    if issues:
        yield scan.ev("governance.issue_template", C, issues[0].path, 1, templates=len(issues))
    yield from _tests(scan)
    for entry in scan.find(lambda e: e.path == ".pre-commit-config.yaml"):
        yield from _precommit(scan, entry)
    logs = scan.find(lambda e: re.fullmatch(r"(changelog|changes|history|news|releases)(\.\w+)?",
                                            e.name.lower()) is not None and "/" not in e.path)
    if logs:
        yield scan.ev("docs.changelog", C, logs[0].path, 1)
    for entry in scan.find(lambda e: e.path in (".github/dependabot.yml", ".github/dependabot.yaml",
                                                 "renovate.json", ".github/renovate.json",
                                                 "renovate.json5")):
        yield scan.ev("security.scanning", C, entry.path, 1,
                      tool="dependabot" if "dependabot" in entry.path else "renovate",
                      source="dependency-updates")


TEST_NAME = lazy(r"(^|/)(test_[^/]*|tests_[^/]*|[^/]*_tests?)\.py$")
MAX_TEST_READS = 200  # test files read, at most, to find one that holds a test


def _tests(scan: Scan) -> Iterator[Evidence]:
    """``quality.tests`` at the first file (in path order) that holds a test."""
    named = sorted(scan.find(lambda e: TEST_NAME.search(e.lower) is not None), key=lambda e: e.path)
    if not named:
        return
    scan.prefetch_texts(named[:MAX_TEST_READS])
    for entry in named[:MAX_TEST_READS]:
        text = scan.text(entry)
        if text is None:
            continue
        found = _first_test(text)
        if found:
            yield scan.ev("quality.tests", C, entry.path, found[0], found[1], tool=found[2],
                          files=len(named))
            return


def _first_test(text: str) -> tuple[int, str, str] | None:
    """(line, name, runner) of the first test a runner would collect, or None."""
    if "def test" not in text and "TestCase" not in text and "class Test" not in text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            return node.lineno, node.name, "pytest"
        if isinstance(node, ast.ClassDef):
            unit = any(ast.unparse(b).endswith("TestCase") for b in node.bases)
            if node.name.startswith("Test") or unit:
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                            item.name.startswith("test"):
                        return item.lineno, f"{node.name}.{item.name}", "unittest" if unit else "pytest"
    return None


def _prow_owners(scan: Scan) -> Iterator[Evidence]:
    """Prow ``OWNERS`` files: approvers and reviewers per directory."""
    for entry in sorted(scan.find(lambda e: e.name == "OWNERS"), key=lambda e: e.path)[:20]:
        data = scan.parsed(entry)
        if not isinstance(data, dict):
            continue
        people = [p for key in ("approvers", "reviewers") for p in data.get(key) or []
                  if isinstance(p, str)]
        if people:
            yield scan.ev("review.codeowners", C, entry.path, data.line_of("approvers"),
                          tool="prow", rules=len(people))
            return


def _model_card(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    sections = sorted({m.group(0).lower() for m in _CARD_SECTIONS.finditer(text)})
    strength = C if len(sections) >= 2 else D
    yield scan.ev("docs.model_card", strength, entry.path, 1, text.splitlines()[0] if text else "",
                  sections=sections[:10])


def _precommit(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    data = scan.parsed(entry)
    if data is None:
        return
    repos = data.get("repos") if isinstance(data, dict) else None
    hooks = []
    for repo in repos or []:
        if isinstance(repo, dict):
            hooks += [str(h.get("id")) for h in repo.get("hooks") or [] if isinstance(h, dict)]
    yield scan.ev("quality.precommit", C, entry.path, 1, tool="pre-commit", hooks=hooks[:20],
                  hook_count=len(hooks))
    security = [h for h in hooks if _SECURITY_HOOKS.search(h)]
    if security:
        yield scan.ev("security.scanning", C, entry.path, 1, tool=security[0], source="pre-commit")


DETECTOR = Detector(
    area="governance",
    signals=("docs", "review", "quality", "governance", "security.scanning"),
    files=Files(names=frozenset({"codeowners", "owners", ".pre-commit-config.yaml", "renovate.json",
                                 "renovate.json5"}),
                prefixes=("model_card", "model-card", "modelcard", "pull_request_template", "test_",
                          "tests_", "changelog", "changes", "history", "news", "releases"),
                suffixes=("_test.py", "_tests.py"),
                dirs=(".github/", ".gitlab/")),
    run=lambda scan: detect(scan))
