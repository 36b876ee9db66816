"""State shared by the detectors of one audit of one repository at one commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git.gitcmd import BlobReader
from probes.git.source import Repo
from probes.git.tree import Entry

MAX_NOTES = 25  # per-file notes (skipped, malformed) before they are summarised


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
    entries: list[Entry]
    reader: BlobReader
    max_file_bytes: int
    by_path: dict[str, Entry] = field(default_factory=dict)
    pending: list[Unobserved] = field(default_factory=list)
    declared: dict[str, Declared] = field(default_factory=dict)  # normalised package → where
    locked_versions: dict[str, str] = field(default_factory=dict)  # package → version in a lock
    images_built: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=lambda: defaultdict(list))
    skipped: int = 0
    notes: int = 0

    subdir: str | None = None

    def __post_init__(self) -> None:
        self.by_path = {e.path: e for e in self.entries}

    def pathspec(self, *globs: str) -> list[str]:
        """``git grep`` pathspecs limited to ``subdir`` when one is set."""
        base = (self.subdir or "").strip("/")
        return ["--", *((f"{base}/{g}" if base else g) for g in globs)]

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
        return [e for e in self.entries if e.is_blob and predicate(e)]

    def readable(self, entry: Entry) -> bool:
        if entry.size is not None and entry.size > self.max_file_bytes:
            self.note(entry.path, f"{entry.size} bytes, over the {self.max_file_bytes}-byte "
                                  "cap; skipped")
            return False
        return True

    def text(self, entry: Entry) -> str | None:
        """The blob's text, or None (with a note) when it is too big, binary or missing."""
        self.ctx.check()
        if not self.readable(entry):
            return None
        data = self.reader.read(entry.oid)
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
