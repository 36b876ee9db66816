"""Private temporary SQLite databases: where a run keeps what would otherwise grow with the
fleet in memory (collected facts, the assessment's long lists, the previous run's statuses).

``connect("")`` gives a database no other connection can open. Its pages stay in memory up
to a bounded cache (:data:`CACHE_KIB`), then spill to a file SQLite creates in
``SQLITE_TMPDIR``, else ``TMPDIR``, else ``/var/tmp`` or ``/tmp``, and unlinks at once: it
goes when the connection does, whatever ends the process. Nothing is journalled or synced:
the data lives only as long as the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

#: each database's page cache, in KiB (SQLite's own default is 2 MiB)
CACHE_KIB = 8192


def scratch_db(schema: str) -> sqlite3.Connection:
    """A new private temporary database with ``schema`` (SQL statements) created, in
    autocommit mode."""
    import sqlite3  # imported by the runs that keep something out of memory, on first use

    db = sqlite3.connect("", isolation_level=None)
    db.executescript(f"PRAGMA cache_size = -{CACHE_KIB}; PRAGMA journal_mode = OFF; "
                     f"PRAGMA synchronous = OFF; {schema}")
    return db
