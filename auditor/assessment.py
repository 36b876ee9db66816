"""The Assessment document, with its long lists kept out of memory.

An assessment of a fleet is mostly long lists: every evidence item, 33 capability results a
project, a placement a scope per framework, tempo figures, probe timings. Held as Python
dicts, they grew peak memory by about 35 KB a repository, and each report built its own
index over them. Here the document's small parts (run, frameworks, sources, inventory ...)
are an ordinary dict, and each long list lives in a private temporary SQLite database
(:mod:`auditor.scratch`).

Each item is kept as the JSON text the JSON report writes (so it writes the text as it is,
byte for byte), with the keys reports look items up by: evidence by id, target and signal,
capability results by scope, placements by framework and scope. :class:`Assessment` is a
mapping like the plain document: ``a["evidence"]`` is a :class:`Rows` sequence read from
the database as it is iterated, and ``to_dict()`` makes the plain document (tests, small
runs). Reports look items up through :meth:`Assessment.evidence_by_ids`,
:meth:`Assessment.capabilities_of` and :meth:`Assessment.placements_sorted`, never by
indexing a whole list in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from typing import Any

from auditor.scratch import scratch_db

#: the document's long lists, kept in the database (in the document's key order)
LISTS = ("targets", "evidence", "unobserved", "links", "capabilities", "placements", "tempo",
         "probes")
#: one encoder for every item, the JSON report's (``json.dumps`` with options builds one per call)
encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
decode = json.JSONDecoder().decode
#: rows inserted per statement, at most (and at most this many characters of them)
BATCH = 2048
BATCH_CHARS = 1 << 18
#: scope kinds in report order: the organisation, teams, targets
SCOPE_ORDER = {"org": 0, "team": 1, "target": 2}
_SCOPE_ORDER = f"CASE k2 {' '.join(f'WHEN {k!r} THEN {n}' for k, n in SCOPE_ORDER.items())} END"


def _keys(name: str, item: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The lookup keys an item of list ``name`` is stored with (k1, k2, k3)."""
    if name == "evidence":
        return item["id"], item["target"], item["signal"]
    if name == "capabilities":
        return None, item["scope"]["kind"], item["scope"]["name"]
    if name == "placements":
        return item["framework"], item["scope"]["kind"], item["scope"]["name"]
    return None, None, None


class Assessment(MutableMapping[str, Any]):
    """An assessment document: a mapping whose long lists (:data:`LISTS`) live in SQLite."""

    def __init__(self) -> None:
        self._db = scratch_db("""
            CREATE TABLE item (seq INTEGER PRIMARY KEY, list TEXT NOT NULL, part INTEGER NOT NULL,
                               k1 TEXT, k2 TEXT, k3 TEXT, json TEXT NOT NULL);
        """)
        self._indexed = False  # see _query
        self._head: dict[str, Any] = {}
        self._lens: dict[str, int] = {}
        self._pending: list[tuple[Any, ...]] = []  # rows not yet inserted (see _query)
        self._pending_chars = 0

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Assessment:
        """An Assessment holding ``document`` (an Assessment is returned as it is)."""
        if isinstance(document, Assessment):
            return document
        out = cls()
        for key, value in document.items():
            out[key] = value
        return out

    # ---- the mapping -------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key in self._lens:
            return Rows(self, key)
        return self._head[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in LISTS and isinstance(value, Iterable) and not isinstance(value, (str, dict)):
            if isinstance(value, Rows):
                value = list(value)
            if self._lens.get(key):
                self._query("DELETE FROM item WHERE list = ?", (key,))
            self._head.setdefault(key, None)  # a key set again keeps its place
            self._lens[key] = 0
            self.extend(key, value)
        else:
            self._lens.pop(key, None)
            self._head[key] = value

    def __delitem__(self, key: str) -> None:
        del self._head[key]
        if self._lens.pop(key, None) is not None:
            self._query("DELETE FROM item WHERE list = ?", (key,))

    def __iter__(self) -> Iterator[str]:
        return iter(self._head)

    def __len__(self) -> int:
        return len(self._head)

    def __repr__(self) -> str:
        lists = ", ".join(f"{k}: {n}" for k, n in self._lens.items())
        return f"<Assessment {lists}>"

    # ---- writing -----------------------------------------------------------------------

    def extend(self, name: str, items: Iterable[dict[str, Any]], part: int = 0) -> None:
        """Append ``items`` to list ``name``; each is encoded as it is stored, none is kept.
        The list reads in ``part`` order, then as appended: placements made a project at a
        time for every framework still read framework by framework (part: its position).
        Rows are inserted :data:`BATCH` at a time, whatever the calls' sizes."""
        if name not in self._lens:
            self[name] = ()
        pending = self._pending
        for item in items:
            text = encode(item)
            pending.append((name, part, *_keys(name, item), text))
            self._lens[name] += 1
            self._pending_chars += len(text)
            if len(pending) >= BATCH or self._pending_chars >= BATCH_CHARS:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO item (list, part, k1, k2, k3, json) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()  # the same list: extend() appends to it
            self._pending_chars = 0

    def _query(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """A cursor over ``sql``, once every row appended is in the database. The lookup
        indexes are built on the first read: built once over every row, they cost a fraction
        of keeping them up to date row by row while ``assess`` writes (reading comes after)."""
        self._flush()
        if not self._indexed:
            self._indexed = True
            self._db.executescript("""
                CREATE INDEX item_list ON item (list, part);
                CREATE INDEX item_k1 ON item (list, k1);
                CREATE INDEX item_k2 ON item (list, k2, k3);
            """)
        return self._db.execute(sql, args)

    # ---- reading -----------------------------------------------------------------------

    def texts(self, name: str) -> Iterator[str]:
        """List ``name``'s items as stored JSON texts, in order."""
        for (text,) in self._query("SELECT json FROM item WHERE list = ? ORDER BY part, seq",
                                   (name,)):
            yield text

    def _items(self, where: str, args: Sequence[Any], order: str = "seq") -> Iterator[dict[str, Any]]:
        """The items ``where`` selects (SQL over ``list``, ``k1``..``k3``), decoded, in ``order``."""
        for (text,) in self._query(f"SELECT json FROM item WHERE {where} ORDER BY {order}", args):
            yield decode(text)

    def evidence_by_ids(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Evidence items by id, for the ids given that exist."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), 500):  # SQLite's limit on bound values is 32,766
            part = wanted[i:i + 500]
            marks = ",".join("?" * len(part))
            for ev in self._items(f"list = 'evidence' AND k1 IN ({marks})", part):
                out[ev["id"]] = ev
        return out

    def evidence_by_target(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(target, its evidence) for every target with evidence, by target name (ignoring
        case first, as a report's reader sorts)."""
        current, items = None, []
        for ev in self._items("list = 'evidence'", (), "k2 COLLATE NOCASE, k2, seq"):
            if ev["target"] != current and items:
                yield current, items
                items = []
            current = ev["target"]
            items.append(ev)
        if items:
            yield current, items

    def evidence_of(self, target: str) -> list[dict[str, Any]]:
        """One target's evidence, in the document's order."""
        return list(self._items("list = 'evidence' AND k2 = ?", (target,)))

    def evidence_with(self, signal: str) -> Iterator[dict[str, Any]]:
        """The evidence items of one signal, in the document's order."""
        return self._items("list = 'evidence' AND k3 = ?", (signal,))

    def scopes(self, name: str = "capabilities") -> list[dict[str, str]]:
        """The scopes list ``name`` (capabilities or placements) has items of: organisation,
        teams, targets, each by name."""
        rows = self._query(f"SELECT DISTINCT k2, k3 FROM item WHERE list = ? "
                           f"ORDER BY {_SCOPE_ORDER}, k3", (name,))
        return [{"kind": kind, "name": scope} for kind, scope in rows]

    def capabilities_of(self, scope: dict[str, str]) -> list[dict[str, Any]]:
        """The capability results of one scope, in the order they were stored."""
        return list(self._items("list = 'capabilities' AND k2 = ? AND k3 = ?",
                                (scope["kind"], scope["name"])))

    def placements_sorted(self, framework: str | None = None) -> Iterator[dict[str, Any]]:
        """Placements by framework, then organisation, teams and targets, each by name (of one
        framework when given)."""
        where, args = ("list = 'placements' AND k1 = ?", (framework,)) if framework is not None \
            else ("list = 'placements'", ())
        return self._items(where, args, f"k1, {_SCOPE_ORDER}, k3")

    def placements_of(self, scope: dict[str, str]) -> list[dict[str, Any]]:
        """One scope's placements, by framework."""
        return list(self._items("list = 'placements' AND k2 = ? AND k3 = ?",
                                (scope["kind"], scope["name"]), "k1"))

    def fields(self, name: str, *paths: str) -> Iterator[tuple[Any, ...]]:
        """Some fields of each item of list ``name``, in order, read by SQLite without making
        the item (``$.scope.kind``; JSON true and false come back as 1 and 0)."""
        cols = ", ".join("json_extract(json, ?)" for _ in paths)
        yield from self._query(f"SELECT {cols} FROM item WHERE list = ? ORDER BY part, seq",
                               (*paths, name))

    def to_dict(self) -> dict[str, Any]:
        """The plain document: every list read into memory."""
        return {k: list(self[k]) if k in self._lens else v for k, v in self._head.items()}


class Rows(Sequence[dict[str, Any]]):
    """One long list of an :class:`Assessment`, read from its database as it is iterated."""

    def __init__(self, owner: Assessment, name: str):
        self._owner, self._name = owner, name

    def __len__(self) -> int:
        return self._owner._lens[self._name]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for text in self._owner.texts(self._name):
            yield decode(text)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return list(self)[index]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        row = self._owner._query("SELECT json FROM item WHERE list = ? ORDER BY part, seq "
                                 "LIMIT 1 OFFSET ?", (self._name, index)).fetchone()
        return decode(row[0])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        return f"<{len(self)} {self._name}>"
