"""The role of every path in a repository, and what a file of each role may establish.

A path is exactly one of (first rule that applies, in this order):

- ``vendored`` — third-party code kept in the tree: a directory ``vendor``, ``vendored``,
  ``_vendor``, ``third_party``, ``third-party``, ``thirdparty``, ``node_modules``,
  ``site-packages``, ``bower_components``, ``.venv`` or ``venv``;
- ``generated`` — written by a tool: ``*_pb2.py``, ``*_pb2_grpc.py``, ``*.min.js``, a directory
  ``generated`` or ``__generated__``, ``*.egg-info/``, ``build/lib/``;
- ``test`` — a directory ``tests``, ``test``, ``testing``, ``__tests__``, ``spec``, ``specs``,
  ``benchmarks``, ``benchmark``; or a file ``test_*.py``, ``tests_*.py``, ``*_test.py``,
  ``*_tests.py``, ``conftest.py``, ``*.test.[jt]s``, ``*.spec.[jt]s``, ``*_test.go``;
- ``docs`` — a directory ``docs``, ``doc``, ``documentation``; or a Markdown, reStructuredText
  or AsciiDoc file anywhere;
- ``template`` — a project template: a path segment holding a Jinja/cookiecutter expression
  (``{{`` or ``{%``), or a ``.j2``, ``.jinja``, ``.jinja2`` or ``.tmpl`` file;
- ``example`` — a directory ``examples``, ``example``, ``samples``, ``sample``, ``tutorials``,
  ``tutorial``, ``demo``, ``demos``, ``quickstart``, ``quickstarts``, ``getting_started``,
  ``getting-started``;
- ``source`` — everything else (application code, notebooks, CI, deployment configuration).

What each role may establish (:data:`ROLE_SIGNALS`): source, example and template files count for
every signal (evidence carries the role, so a report can say "only in examples/"); tests
establish testing and test-data checks only; documentation establishes documentation, review
and governance files (model cards, changelogs, PR templates) and nothing else; vendored and
generated files establish nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

SOURCE, TEST, DOCS, EXAMPLE, TEMPLATE, VENDORED, GENERATED = (
    "source", "test", "docs", "example", "template", "vendored", "generated")
ROLES = (SOURCE, TEST, DOCS, EXAMPLE, TEMPLATE, VENDORED, GENERATED)

#: signal prefixes a file of each role may establish (None: every signal)
ROLE_SIGNALS: dict[str, tuple[str, ...] | None] = {
    SOURCE: None,
    EXAMPLE: None,
    TEMPLATE: None,
    TEST: ("quality.", "data_validation."),
    DOCS: ("docs.", "review.", "governance."),
    VENDORED: (),
    GENERATED: (),
}

_VENDORED_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "third-party",
                            "thirdparty", "node_modules", "site-packages", "bower_components",
                            ".venv", "venv"})
_GENERATED_DIRS = frozenset({"generated", "__generated__"})
_TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__", "spec", "specs", "benchmarks",
                        "benchmark"})
_DOCS_DIRS = frozenset({"docs", "doc", "documentation"})
_EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "sample", "tutorials", "tutorial",
                           "demo", "demos", "quickstart", "quickstarts", "getting_started",
                           "getting-started"})
_TEST_FILE = re.compile(r"^(test_.*\.py|tests_.*\.py|.*_tests?\.py|conftest\.py|.*\.(test|spec)\.[jt]sx?|"
                        r".*_test\.go)$")
_GENERATED_FILE = re.compile(r"(_pb2|_pb2_grpc)\.pyi?$|\.min\.js$")
_DOC_FILE = (".md", ".markdown", ".rst", ".adoc")
_TEMPLATE_FILE = (".j2", ".jinja", ".jinja2", ".tmpl")


@lru_cache(maxsize=65536)
def role_of(path: str) -> str:
    """The role of a repository path (see the module docstring for the rules)."""
    low = path.lower()
    parts = low.split("/")
    dirs, name = parts[:-1], parts[-1]
    if any(d in _VENDORED_DIRS for d in dirs):
        return VENDORED
    if (any(d in _GENERATED_DIRS or d.endswith(".egg-info") for d in dirs)
            or _GENERATED_FILE.search(name) or "build/lib/" in low):
        return GENERATED
    if any(d in _TEST_DIRS for d in dirs) or _TEST_FILE.match(name):
        return TEST
    if any(d in _DOCS_DIRS for d in dirs) or name.endswith(_DOC_FILE):
        return DOCS
    if "{{" in low or "{%" in low or name.endswith(_TEMPLATE_FILE):
        return TEMPLATE
    if any(d in _EXAMPLE_DIRS for d in dirs):
        return EXAMPLE
    return SOURCE


def may_establish(role: str, signal: str) -> bool:
    """Whether a file of ``role`` may establish ``signal``."""
    allowed = ROLE_SIGNALS[role]
    return allowed is None or signal.startswith(allowed)


@lru_cache(maxsize=256)
def roles_for(signals: tuple[str, ...]) -> frozenset[str]:
    """Roles whose files may establish at least one of ``signals`` (dotted prefixes)."""
    out = set()
    for role, allowed in ROLE_SIGNALS.items():
        if allowed is None or any(s.startswith(allowed) or any(a.startswith(s) for a in allowed)
                                  for s in signals):
            out.add(role)
    return frozenset(out)
