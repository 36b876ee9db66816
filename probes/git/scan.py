"""State shared by the detectors of one audit of one repository at one commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git.declare import Detector, Files
from probes.git.gitcmd import BlobReader
from probes.git.roles import role_of
from probes.git.source import Repo
from probes.git.tree import Entry, Tree
from probes.git.yamlines import ParseError, load_yaml

MAX_NOTES = 25  # per-file notes (skipped, malformed) before they are summarised
NOTEBOOK_READ_FACTOR = 64  # a notebook is read up to this many times max_file_bytes (outputs)


def pathspec(subdir: str | None, *globs: str, exclude: Sequence[str] = ()) -> list[str]:
    """``git grep`` pathspecs limited to ``subdir`` when one is set; ``exclude``: paths never
    searched (blobs missing from a partial clone, which git would otherwise try to fetch)."""
    base = (subdir or "").strip("/")
    return ["--", *((f"{base}/{g}" if base else g) for g in globs),
            *(f":(exclude,literal){p}" for p in exclude)]


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
    facts: dict[str, Any] = field(default_factory=lambda: defaultdict(list))
    skipped: int = 0
    notes: int = 0

    subdir: str | None = None
    max_commits: int = 1000
    wanted: Files = field(default_factory=Files)  # the union of every detector's declaration
    grep_lines: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # shared config grep
    active: Detector | None = None  # the detector running now (set by the collector)
    plan: list[Detector] = field(default_factory=list)  # every detector of this audit

    interesting: list[Entry] = field(default_factory=list)
    _declared: dict[str, list[Entry]] = field(default_factory=dict)  # area → its files
    prefetched: dict[str, bytes | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """One pass over the paths (strings only): the few files detectors declare."""
        tree, missing, matches = self.tree, set(self.tree.missing), self.wanted.matches
        self.interesting = [tree[p] for p in tree.blob_paths() if matches(p.lower()) and p not in missing]

    def pathspec(self, *globs: str) -> list[str]:
        return pathspec(self.subdir, *globs)

    # -- what the active detector may see -------------------------------------------------
    def sees(self, path: str) -> bool:
        """Whether the active detector is shown ``path``: a role that may establish one of
        its signals (tests are shown to the test detector, never to the feature-store one)."""
        return self.active is None or role_of(path) in self.active.roles

    def claimed_elsewhere(self, path: str) -> bool:
        """Whether another detector declares ``path`` by name (a workflow holding ``kind:``
        lines is CI, not a Kubernetes manifest)."""
        low = path.lower()
        return any(d is not self.active and d.files.matches(low) for d in self.plan)

    def grep_hits(self) -> dict[str, list[tuple[int, str]]]:
        """Lines of the shared content grep that match the active detector's own patterns."""
        d = self.active
        if d is None or not d.files.grep:
            return {}
        out = {}
        for path, lines in self.grep_lines.items():
            if not d.files.in_grep_globs(path.lower()) or not self.sees(path):
                continue
            mine = [(n, t) for n, t in lines if d.files.grep_matches(t)]
            if mine:
                out[path] = mine
        return out

    # -- output -------------------------------------------------------------------------
    def ev(self, signal: str, strength: Strength, path: str = "", line: int | None = None,
           excerpt: str = "", **attributes: Any) -> Evidence:
        """Evidence at ``path:line``; a path's role is an attribute (see ``roles``)."""
        if path and not path.startswith("refs/"):
            attributes["role"] = role_of(path)
        return self.ctx.evidence(self.target, signal, strength, self.repo.locator(path, line),
                                 attributes, excerpt)

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
    def find(self, predicate: Callable[[Entry], bool]) -> list[Entry]:
        """Files the active detector declared (and whose role it may use) that satisfy
        ``predicate``."""
        d = self.active
        if d is None:
            return [e for e in self.interesting if predicate(e)]
        mine = self._declared.get(d.area)
        if mine is None:
            mine = self._declared[d.area] = [e for e in self.interesting if d.files.matches(e.lower)
                                             and self.sees(e.path)]
        return [e for e in mine if predicate(e)]

    def prefetch_texts(self, entries: list[Entry]) -> None:
        """Read many blobs through the one cat-file process in a pipelined batch."""
        todo = [e.oid for e in entries if e.oid not in self.prefetched and
                (e.size is None or e.size <= self.cap(e))]
        if todo:
            self.prefetched.update(self.reader.read_many(todo))

    def cap(self, entry: Entry) -> int:
        """Bytes read at most: notebooks are bounded on their code (outputs make them large),
        so the file itself may be larger."""
        if entry.name.lower().endswith(".ipynb"):
            return self.max_file_bytes * NOTEBOOK_READ_FACTOR
        return self.max_file_bytes

    def readable(self, entry: Entry) -> bool:
        cap = self.cap(entry)
        if entry.size is not None and entry.size > cap:
            self.note(entry.path, f"{entry.size} bytes, over the {cap}-byte cap; skipped")
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
        if len(data) > self.cap(entry):
            self.note(entry.path, f"{len(data)} bytes, over the {self.cap(entry)}-byte cap; skipped")
            return None
        if b"\0" in data[:8192]:
            self.note(entry.path, "binary content where text was expected; skipped")
            return None
        return data.decode("utf-8", "replace")
