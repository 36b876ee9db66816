"""Collected facts kept out of memory until they are assessed, one target at a time.

``audit`` collects into a :class:`FactSpool` (its sink), and ``assess`` reads stored evidence
files into one: each target's evidence and holdings are pickled into a private temporary
SQLite database as they arrive (:mod:`auditor.scratch`), and :func:`auditor.audit.assess`
reads them back a target at a time. What assessment needs of every target at once stays in
memory: the target, its probe, its timings and unobserved records
(:attr:`FactSpool.heads`), a few hundred bytes a target.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from auditor.evidence import Evidence, Holdings, Unobserved
from auditor.links import referable, refers
from auditor.scratch import scratch_db

if TYPE_CHECKING:
    from auditor.audit import TargetFacts


class FactSpool:
    """Every target's collected facts; a :class:`auditor.audit.Sink`."""

    def __init__(self) -> None:
        self._db = scratch_db("CREATE TABLE body (name TEXT PRIMARY KEY, evidence BLOB NOT NULL, "
                              "refers BLOB NOT NULL, referable BLOB NOT NULL, "
                              "holdings BLOB NOT NULL);")
        #: each target's facts without its evidence and holdings, by name
        self.heads: dict[str, TargetFacts] = {}

    def add(self, facts: TargetFacts) -> None:
        self.heads[facts.target.name] = replace(facts, evidence=[], holdings=[],
                                                unobserved=list(facts.unobserved))
        self._put(facts.target.name, facts.evidence, facts.holdings)

    def extend(self, target: str, evidence: list[Evidence], unobserved: list[Unobserved]) -> None:
        self.heads[target].unobserved.extend(unobserved)
        self._put(target, self.evidence(target) + evidence, self._read("holdings", target))

    def relabelled(self, labels: dict[str, dict[str, str]]) -> FactSpool:
        """The same facts, the named targets with these labels (``assess --config``: their
        teams); the database is shared, not copied."""
        other = copy.copy(self)
        other.heads = {name: replace(head, target=replace(head.target, labels=dict(labels[name])))
                       if name in labels else head for name, head in self.heads.items()}
        return other

    def collected(self) -> list[TargetFacts]:
        """Every target's head, in the configuration's order."""
        return sorted(self.heads.values(), key=lambda f: f.index)

    def evidence(self, target: str) -> list[Evidence]:
        """One target's evidence, read back."""
        return self._read("evidence", target)

    def refers(self, target: str) -> list[Evidence]:
        """The part of one target's evidence links start from (:func:`auditor.links.refers`),
        read back without the rest."""
        return self._read("refers", target)

    def referable(self, target: str) -> list[Evidence]:
        """The part of one target's evidence something may refer to
        (:func:`auditor.links.referable`), read back without the rest."""
        return self._read("referable", target)

    def holdings(self) -> Iterator[Holdings]:
        """What every target holds, read back a target at a time."""
        for (blob,) in self._db.execute("SELECT holdings FROM body ORDER BY name"):
            yield from pickle.loads(blob)

    def __len__(self) -> int:
        return len(self.heads)

    def _put(self, name: str, evidence: list[Evidence], holdings: list[Holdings]) -> None:
        self._db.execute("INSERT OR REPLACE INTO body VALUES (?, ?, ?, ?, ?)",
                         (name, _pickled(evidence), _pickled([ev for ev in evidence if refers(ev)]),
                          _pickled([ev for ev in evidence if referable(ev)]), _pickled(holdings)))

    def _read(self, column: str, name: str) -> list[Any]:
        row = self._db.execute(f"SELECT {column} FROM body WHERE name = ?", (name,)).fetchone()
        return pickle.loads(row[0]) if row else []


def _pickled(items: list[Any]) -> bytes:
    return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
