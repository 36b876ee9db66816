"""Regular expressions compiled when first used, not when their module is imported.

Detectors and redaction hold a few hundred patterns, and a run meets few of them: a one-file
repository has no CI, Terraform or Python to read. Compiling them all at import cost every
run some 15 ms, about a tenth of a one-file audit.
"""

from __future__ import annotations

import re
from typing import Any

#: the methods a first use puts on the instance, bound to the compiled pattern
_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``; the first use of any attribute compiles it.

    From then on the pattern's methods are attributes of the instance, bound to the compiled
    pattern, so a call costs what a call on the compiled pattern costs. Two threads meeting
    it at once both compile (``re`` caches the result): same pattern, same methods. Only
    for attribute use: ``re.search(lazy, text)`` wants the compiled pattern
    (:attr:`compiled`)."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._source = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only names the instance does not hold yet
        if name.startswith("__") or name in ("_source", "_flags"):
            raise AttributeError(name)
        compiled = re.compile(self._source, self._flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        self.compiled = compiled
        return compiled if name == "compiled" else getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source!r}, {self._flags!r})"


def lazy(pattern: str | bytes, flags: int = 0) -> Any:
    """A :class:`LazyPattern`, typed as the ``re.Pattern`` it stands for."""
    return LazyPattern(pattern, flags)
