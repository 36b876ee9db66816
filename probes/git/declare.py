"""A detection is one declaration: the files a detector reads and the signals it emits.

Everything else derives from the declarations: the one pass over the tree that picks the files
that may matter (their union), the blobs a partial clone fetches, the content greps and their
globs, which file roles each detector is shown (:mod:`probes.git.roles`), and the order the
detectors run in (``after``). A new detector declares its files here and sees them; there is
no second list to keep in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import translate
from typing import TYPE_CHECKING, Any

from auditor.lazyre import lazy
from probes.git.roles import roles_for

if TYPE_CHECKING:  # pragma: no cover
    from probes.git.scan import Scan


def glob_matcher(globs: Sequence[str]) -> Callable[[str], Any]:
    """A test of a path against ``globs`` as ``fnmatchcase`` reads them (``*`` crosses ``/``),
    in one compiled expression: a match object, or None. (``fnmatchcase`` per glob per file
    cost more than the rest of choosing a tree's files.)"""
    if not globs:
        return lambda path: None
    return re.compile("|".join(f"(?:{translate(g)})" for g in globs)).match


@dataclass(frozen=True)
class Files:
    """Files a detector reads, matched on the lower-case path with string operations only
    (this runs once per file of the tree). ``grep``: patterns whose matching lines, in files
    matching ``grep_globs``, make a file a candidate; they are read by ``git grep -P`` (``-E``
    when git has no PCRE) and by Python's ``re``, so only the syntax all three share."""

    names: frozenset[str] = frozenset()  # exact base names
    suffixes: tuple[str, ...] = ()  # path suffixes (``.tf``, ``/.dvc/config``)
    prefixes: tuple[str, ...] = ()  # base-name prefixes
    dirs: tuple[str, ...] = ()  # path prefixes from the repository root
    contains: tuple[str, ...] = ()  # substrings of the path (``requirements/``, ``_delta_log/``)
    parts: str = ""  # a regex searched in the path (slower than the string tests above)
    grep: tuple[str, ...] = ()
    grep_globs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # ``contains`` and ``parts`` as one compiled search: a substring test per entry was a
        # generator per path, which cost more than the rest of the test
        alts = [re.escape(c) for c in self.contains] + ([f"(?:{self.parts})"] if self.parts else [])
        object.__setattr__(self, "_search", re.compile("|".join(alts)).search if alts else None)
        # compiled when a grep hit is first checked: a repository with none never needs it
        object.__setattr__(self, "_grep", lazy("|".join(f"(?:{p})" for p in self.grep))
                           if self.grep else None)

    def matches(self, low: str) -> bool:
        name = low[low.rfind("/") + 1:]
        search = self._search  # type: ignore[attr-defined]
        return (name in self.names or low.endswith(self.suffixes) or name.startswith(self.prefixes)
                or low.startswith(self.dirs) or (search is not None and search(low) is not None))

    def grep_matches(self, line: str) -> bool:
        return self._grep is not None and self._grep.search(line) is not None  # type: ignore[attr-defined]

    def in_grep_globs(self, low: str) -> bool:
        name = low.rsplit("/", 1)[-1]
        return any(name.endswith(g.removeprefix("*")) for g in self.grep_globs)

    @staticmethod
    def union(all_files: Iterable[Files]) -> Files:
        items = list(all_files)
        parts = "|".join(f"(?:{f.parts})" for f in items if f.parts)
        return Files(names=frozenset().union(*(f.names for f in items)),
                     suffixes=tuple(dict.fromkeys(s for f in items for s in f.suffixes)),
                     prefixes=tuple(dict.fromkeys(s for f in items for s in f.prefixes)),
                     dirs=tuple(dict.fromkeys(s for f in items for s in f.dirs)),
                     contains=tuple(dict.fromkeys(s for f in items for s in f.contains)),
                     parts=parts,
                     grep=tuple(dict.fromkeys(p for f in items for p in f.grep)),
                     grep_globs=tuple(dict.fromkeys(g for f in items for g in f.grep_globs)))


@dataclass(frozen=True)
class Detector:
    """One area of detection. ``run(scan)`` yields evidence; it reads files through
    ``scan.files(detector)`` / ``scan.grep_hits(detector)``, which apply the declaration."""

    area: str  # shown in notes: "CI/CD", "deployment config" ...
    signals: tuple[str, ...]  # signal prefixes it may emit ("ci", "serving.deployment" ...)
    files: Files = field(default_factory=Files)
    run: Callable[[Scan], Iterator[Any]] = lambda scan: iter(())
    after: tuple[str, ...] = ()  # areas whose facts (declared packages, lock versions) it uses
    own_grep: bool = False  # runs its own git grep (the code detector) instead of the shared one

    @property
    def roles(self) -> frozenset[str]:
        return roles_for(self.signals)  # cached


def ordered(detectors: Sequence[Detector]) -> list[Detector]:
    """Declaration order, except that a detector runs after the areas it names in ``after``."""
    by_area = {d.area: d for d in detectors}
    done: list[Detector] = []
    seen: set[str] = set()

    def visit(d: Detector, stack: tuple[str, ...] = ()) -> None:
        if d.area in seen:
            return
        if d.area in stack:
            raise ValueError(f"detectors depend on each other in a cycle: {' -> '.join(stack)}")
        for area in d.after:
            if area in by_area:
                visit(by_area[area], stack + (d.area,))
        seen.add(d.area)
        done.append(d)

    for d in detectors:
        visit(d)
    return done
