"""Signal-name matching: dotted names with ``*`` wildcards (``ci.*``, ``*.drift_rule``)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache


@lru_cache(maxsize=1 << 16)
def matches(pattern: str, signal: str) -> bool:
    """Cached: the engine asks the same (pattern, signal) pairs for every subject."""
    return signal == pattern or fnmatchcase(signal, pattern)


def prefix_overlaps(prefix: str, pattern: str) -> bool:
    """Could a signal under ``prefix`` (e.g. ``serving`` or ``serving.*``) match ``pattern``?"""
    prefix = prefix.removesuffix(".*").removesuffix("*")
    if prefix in ("", "*"):
        return True
    head = pattern.split("*", 1)[0]
    return head.startswith(prefix) or prefix.startswith(head.rstrip("."))
