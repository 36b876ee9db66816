"""State shared by the detectors of one audit of one repository at one commit."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git.gitcmd import BlobReader
from probes.git.source import Repo
from probes.git.tree import Entry, Tree
from probes.git.yamlines import ParseError, load_yaml

MAX_NOTES = 25

#: every file a detector may read is one of these (checked with string operations only: this
#: runs once per file of the tree, 20,000 times in a big repository)
_NAMES = frozenset({
    "pyproject.toml", "pipfile", "setup.cfg", "setup.py", "chart.yaml", "cdk.json", "dvc.yaml",
    "dvc.lock", ".gitattributes", "mlproject", "codeowners", "feature_store.yaml", "go.sum",
    ".gitlab-ci.yml", "bitbucket-pipelines.yml", ".gitpod.yml", ".devcontainer.json",
    ".pre-commit-config.yaml", "renovate.json", "renovate.json5", "great_expectations.yml",
    "great_expectations.yaml", ".lakectl.yaml", "lakectl.yaml", "requirements.in"})
_SUFFIXES = (".lock", ".tf", ".bicep", ".dvc", ".conda-lock.yml", ".conda-lock.yaml", ".dockerfile",
             ".containerfile", "devcontainer.json", ".lakefs.yaml", ".jenkinsfile")
_PREFIXES = ("dockerfile", "containerfile", "requirements", "jenkinsfile", "azure-pipelines",
             "buildspec", "cloudbuild", "model_card", "model-card", "modelcard", "environment",
             "conda", "env", "compose", "docker-compose")
_DIRS = (".github/", ".gitlab/", ".circleci/", ".azure-pipelines/", ".azuredevops/", ".dvc/")
_PARTS = re.compile(r"requirements/|_delta_log/|great_expectations/|gx/|model[_-]?card|"
                    r"pull_request_template|\.devcontainer/")
_ROOT_DOCS = ("changelog", "changes", "history", "news", "releases")


def may_matter(low_path: str) -> bool:
    name = low_path.rsplit("/", 1)[-1]
    return (name in _NAMES or name.endswith(_SUFFIXES) or name.startswith(_PREFIXES)
            or low_path.startswith(_DIRS) or _PARTS.search(low_path) is not None
            or ("/" not in low_path and name.startswith(_ROOT_DOCS)))


TEST_FILE = re.compile(r"(^|/)(test_[^/]*\.py|[^/]*_test\.py|conftest\.py)$")  # per-file notes (skipped, malformed) before they are summarised


def pathspec(subdir: str | None, *globs: str) -> list[str]:
    """``git grep`` pathspecs limited to ``subdir`` when one is set."""
    base = (subdir or "").strip("/")
    return ["--", *((f"{base}/{g}" if base else g) for g in globs)]


@dataclass
class Declared:
    """A package found in a dependency file."""

    package: str
    version: str | None
    path: str
    line: int


@dataclass
class Scan:
    target: Target
    ctx: ProbeContext
    repo: Repo
    tree: Tree
    reader: BlobReader
    max_file_bytes: int
    pending: list[Unobserved] = field(default_factory=list)
    declared: dict[str, Declared] = field(default_factory=dict)  # normalised package → where
    locked_versions: dict[str, str] = field(default_factory=dict)  # package → version in a lock
    images_built: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=lambda: defaultdict(list))
    skipped: int = 0
    notes: int = 0

    subdir: str | None = None

    interesting: list[Entry] = field(default_factory=list)
    test_files: list[Entry] = field(default_factory=list)
    prefetched: dict[str, bytes | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """One pass over the paths (strings only): the few files detectors look at."""
        tree = self.tree
        for path in tree.blob_paths():
            low = path.lower()
            if may_matter(low):
                self.interesting.append(tree[path])
            if low.endswith(".py") and ("test" in low or "conftest" in low) and TEST_FILE.search(low):
                self.test_files.append(tree[path])

    def pathspec(self, *globs: str) -> list[str]:
        return pathspec(self.subdir, *globs)

    # -- output -------------------------------------------------------------------------
    def ev(self, signal: str, strength: Strength, path: str = "", line: int | None = None,
           excerpt: str = "", **attributes: Any) -> Evidence:
        attrs = {k: v for k, v in attributes.items() if v is not None and v != [] and v != {}}
        return Evidence(signal=signal, strength=strength, target=self.target.name,
                        locator=self.repo.locator(path, line), attributes=attrs,
                        excerpt=excerpt.strip()[:200])

    def note(self, path: str, reason: str) -> None:
        """One unreadable item: recorded, hides no capability, the audit goes on."""
        self.notes += 1
        if self.notes <= MAX_NOTES:
            self.pending.append(self.ctx.unobserved(self.target, what=path, reason=reason))

    def drain(self) -> Iterator[Unobserved]:
        while self.pending:
            yield self.pending.pop(0)

    def summary_note(self) -> Iterator[Unobserved]:
        if self.notes > MAX_NOTES:
            yield self.ctx.unobserved(
                self.target, what="more files",
                reason=f"{self.notes - MAX_NOTES} more files were skipped or unreadable "
                       f"(only the first {MAX_NOTES} are listed)")

    # -- reading ------------------------------------------------------------------------
    def find(self, predicate) -> list[Entry]:
        """Files among those that may matter (see ``INTERESTING``) that satisfy ``predicate``."""
        return [e for e in self.interesting if predicate(e)]

    def prefetch_texts(self, entries: list[Entry]) -> None:
        """Read many blobs through the one cat-file process in a pipelined batch."""
        todo = [e.oid for e in entries if e.oid not in self.prefetched and
                (e.size is None or e.size <= self.max_file_bytes)]
        if todo:
            self.prefetched.update(self.reader.read_many(todo))

    def readable(self, entry: Entry) -> bool:
        if entry.size is not None and entry.size > self.max_file_bytes:
            self.note(entry.path, f"{entry.size} bytes, over the {self.max_file_bytes}-byte "
                                  "cap; skipped")
            return False
        return True

    def parsed(self, entry: Entry, loader: Callable[[str], Any] | None = None) -> Any:
        """The file parsed (YAML by default), or None with a note when unreadable or malformed."""
        read = self.read_parsed(entry, loader)
        return None if read is None else read[1]

    def read_parsed(self, entry: Entry, loader: Callable[[str], Any] | None = None
                    ) -> tuple[str, Any] | None:
        """The file's text and its parsed form, or None (with a note)."""
        text = self.text(entry)
        if text is None:
            return None
        try:
            return text, (loader or load_yaml)(text)
        except ParseError as exc:
            self.note(entry.path, str(exc))
            return None

    def text(self, entry: Entry) -> str | None:
        """The blob's text, or None (with a note) when it is too big, binary or missing."""
        self.ctx.check()
        if not self.readable(entry):
            return None
        data = self.prefetched.pop(entry.oid) if entry.oid in self.prefetched else \
            self.reader.read(entry.oid)
        if data is None:
            self.note(entry.path, "blob not available in the repository")
            return None
        if len(data) > self.max_file_bytes:
            self.note(entry.path, f"{len(data)} bytes, over the {self.max_file_bytes}-byte "
                                  "cap; skipped")
            return None
        if b"\0" in data[:8192]:
            self.note(entry.path, "binary content where text was expected; skipped")
            return None
        return data.decode("utf-8", "replace")
