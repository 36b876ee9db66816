"""Shards: a stable partition of the targets, so one fleet can be collected by N machines.

A target belongs to shard ``sha256(name) mod N + 1``: the same on every run and machine,
whatever the order or the other targets of the configuration, so adding a target moves no
other one. Shards are numbered from 1 (``--shard 1/3`` … ``--shard 3/3``); ``auto/N`` takes
the number from ``JOB_COMPLETION_INDEX`` (a Kubernetes Indexed Job, 0-based: index 0 is shard
1).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: set by Kubernetes in each pod of an Indexed Job (0 … completions-1)
INDEX_VARIABLE = "JOB_COMPLETION_INDEX"
_SPEC = re.compile(r"^\s*(\d+|auto)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A shard that cannot be taken, phrased as one line."""


@dataclass(frozen=True, order=True)
class Shard:
    index: int  # 1 … count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def select(self, items: Iterable[T], name_of=lambda t: t.name) -> list[T]:
        """The items (targets) of this shard, in their order."""
        return [item for item in items if self.holds(name_of(item))]


def shard_of(name: str, count: int) -> int:
    """The shard (1-based) a target named ``name`` belongs to among ``count``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse(spec: str, environ: Mapping[str, str] | None = None) -> Shard:
    """``I/N`` (1 ≤ I ≤ N) or ``auto/N`` (I from ``JOB_COMPLETION_INDEX`` + 1)."""
    environ = os.environ if environ is None else environ
    match = _SPEC.match(spec or "")
    if not match:
        raise ShardError(f"--shard {spec!r}: expected I/N (e.g. 2/3, shards numbered from 1) "
                         f"or auto/N")
    index_text, count = match.group(1), int(match.group(2))
    if count < 1:
        raise ShardError(f"--shard {spec}: N must be at least 1")
    if index_text == "auto":
        value = environ.get(INDEX_VARIABLE, "").strip()
        if not value.isdigit():
            raise ShardError(f"--shard {spec}: {INDEX_VARIABLE} is "
                             f"{'not set' if not value else repr(value)}; auto/N takes the shard "
                             f"from a Kubernetes Indexed Job's completion index (0-based)")
        index = int(value) + 1
        if index > count:
            raise ShardError(f"--shard {spec}: {INDEX_VARIABLE}={value} is beyond {count} shards "
                             f"(indexes run from 0 to {count - 1}; set the Job's completions to {count})")
        return Shard(index, count)
    index = int(index_text)
    if not 1 <= index <= count:
        hint = f"; for a 0-based index use --shard auto/{count} or add 1" if index == 0 else ""
        raise ShardError(f"--shard {spec}: shards are numbered from 1 to {count}{hint}")
    return Shard(index, count)


def from_text(text: str | None) -> Shard | None:
    """A shard as stored in an evidence file or manifest (``"2/3"``), or None."""
    if text is None:
        return None
    match = _SPEC.match(text)
    if not match or match.group(1) == "auto":
        raise ShardError(f"not a shard: {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ShardError(f"not a shard: {text!r}")
    return Shard(index, count)
