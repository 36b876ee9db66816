"""Governance kept in the repository: model cards, CODEOWNERS, PR and issue templates, tests a
test runner would collect, pre-commit, CHANGELOG, dependency update bots."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from probes.git.scan import Scan
from probes.git.tree import Entry

C, D = Strength.CONFIGURED, Strength.DECLARED

_CARD_NAME = re.compile(r"(^|/)(model[_-]?card[\w.-]*|modelcard[\w.-]*)\.(md|rst|ya?ml|json|txt)$", re.I)
_CARD_SECTIONS = re.compile(r"intended use|limitations?|training data|evaluation|metrics|"
                            r"ethical considerations|caveats|model details|bias|out-of-scope", re.I)
_SECURITY_HOOKS = re.compile(r"detect-secrets|gitleaks|bandit|trufflehog|safety|pip-audit|semgrep")


def detect(scan: Scan) -> Iterator[Evidence]:
    for entry in scan.find(lambda e: bool(_CARD_NAME.search(e.path))):
        yield from _model_card(scan, entry)
    owners = scan.find(lambda e: e.path in ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS",
                                             ".gitlab/CODEOWNERS"))
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
    tests = scan.test_files
    if tests:
        yield scan.ev("quality.tests", C, tests[0].path, 1, tool="pytest", files=len(tests))
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
