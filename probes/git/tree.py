"""The committed tree at the audited ref, read with one ``git ls-tree`` call."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from probes.git.gitcmd import BlobReader, Git

SYMLINK = "120000"
SUBMODULE = "160000"


@dataclass(slots=True)
class Entry:
    path: str
    mode: str
    oid: str
    size: int | None  # None: not known yet (partial clone)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def lower(self) -> str:
        return self.path.lower()

    @property
    def is_blob(self) -> bool:
        return self.mode not in (SYMLINK, SUBMODULE) and not self.mode.startswith("04")


class Tree:
    """The committed file listing, kept as rows of strings; an :class:`Entry` is made only
    for a path a detector asks for. A 20,000-file tree costs one decode and one regex pass,
    not 20,000 objects."""

    def __init__(self, rows: dict[str, tuple[str, str, int | None]], missing: Sequence[str] = ()):
        self._rows = rows
        self._made: dict[str, Entry] = {}
        #: paths whose blob is not in the repository (``BAD`` sizes, or a failed partial fetch)
        self.missing: list[str] = list(missing)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, path: object) -> bool:
        return path in self._rows

    def __getitem__(self, path: str) -> Entry:
        entry = self.get(path)
        if entry is None:
            raise KeyError(path)
        return entry

    def get(self, path: str) -> Entry | None:
        entry = self._made.get(path)
        if entry is None:
            row = self._rows.get(path)
            if row is None:
                return None
            entry = self._made[path] = Entry(path, row[0], row[1], row[2])
        return entry

    def rows(self):
        """(path, (mode, object name, size)) of every file, in listing order."""
        return self._rows.items()

    def blob_paths(self) -> list[str]:
        return [p for p, (mode, _, _) in self._rows.items() if mode not in _NOT_BLOB]

    def special(self) -> list[Entry]:
        """Symlinks and submodules."""
        return [self[p] for p, (mode, _, _) in self._rows.items() if mode in (SYMLINK, SUBMODULE)]

    def __iter__(self):
        return (self[p] for p in self._rows)


_NOT_BLOB = frozenset({SYMLINK, SUBMODULE, "040000"})


def list_tree(git: Git, commit: str, subdir: str | None, with_sizes: bool) -> Tree:
    """Every file at ``commit`` (paths relative to the repository root).

    Sizes come from ``-l`` for local repositories; in a partial clone ``-l`` would fetch
    every blob one by one, so sizes are filled in later for the files actually read.
    """
    args = ["ls-tree", "-r", "-z", "--full-tree"]
    if with_sizes:
        args.append("-l")
    args.append(commit)
    if subdir:
        args += ["--", subdir.strip("/") + "/"]
    text = git.run(*args).decode("utf-8", "surrogateescape")
    if with_sizes:
        rows = _SIZED.findall(text)
        tree = Tree({p: (m, o, int(sz) if sz.isdigit() else None) for m, o, sz, p in rows},
                    missing=[p for _, _, sz, p in rows if sz == "BAD"])
        return tree
    return Tree({p: (m, o, None) for m, o, p in _PLAIN.findall(text)})


# one C-level pass over ls-tree's output instead of a Python loop per record; a blob whose
# object is missing has the size ``BAD`` and is kept (reported as unobserved, never dropped)
_SIZED = re.compile(r"(\d+) \w+ ([0-9a-f]+) +(\d+|-|BAD)\t([^\0]*)\0")
_PLAIN = re.compile(r"(\d+) \w+ ([0-9a-f]+)\t([^\0]*)\0")


def fill_sizes(git: Git, entries: list[Entry]) -> None:
    """Sizes for entries that lack them, with one ``git cat-file --batch-check`` call."""
    todo = [e for e in entries if e.size is None and e.is_blob]
    if not todo:
        return
    out = git.run("cat-file", "--batch-check=%(objectname) %(objectsize)",
                  input=b"".join(e.oid.encode() + b"\n" for e in todo))
    sizes = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    for e in todo:
        e.size = sizes.get(e.oid)


def missing_blobs(git: Git, commit: str) -> set[str]:
    """Object names under ``commit`` that are not in the repository (a partial clone)."""
    out = git.run("rev-list", "--objects", "--missing=print", "--no-walk", commit)
    return {ln[1:].strip() for ln in out.decode().splitlines() if ln.startswith("?")}


def prefetch(git: Git, oids: Sequence[str]) -> None:
    """In a partial clone, fetch the missing blobs about to be read in one request."""
    wanted = sorted(set(oids))
    for i in range(0, len(wanted), 5000):
        chunk = wanted[i:i + 5000]
        git.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--stdin",
                "--filter=blob:none", "--no-recurse-submodules", "origin",
                input="\n".join(chunk).encode() + b"\n")


def resolve_symlink(entry: Entry, reader: BlobReader) -> str | None:
    """The in-repository path a symlink names, or None when it points outside. Never followed
    on disk: the target is read as the blob's text."""
    data = reader.read(entry.oid) or b""
    target = data.decode("utf-8", "replace")
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), target))
    if joined.startswith("../") or joined == "..":
        return None
    return joined
