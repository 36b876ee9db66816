"""Atomic file writes (temp file + rename), the reports folder, and run history kept next
to the reports."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO, Any

from auditor.assessment import Assessment
from auditor.lazyre import lazy

#: Written into ``--out`` by every run: the report files it wrote, so the next run can
#: remove what it no longer writes (a format dropped from the command, a plugin uninstalled).
MANIFEST = ".mlops-audit-reports.json"
_BARE_NAME = lazy(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (``os.umask`` sets
    it, and an abandoned probe thread creating a clone folder at that moment would get the
    temporary value)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: Content, durable: bool = True) -> None:
    """Write ``text`` (str, bytes, or bytes chunks written as they come) to ``path`` through a
    temp file and a rename, with the mode an ordinary ``open()`` would give (``0o666`` less
    the umask): ``mkstemp`` creates files 0600, which a textfile collector or a web server
    running as another user cannot read.

    ``durable=False`` skips the fsync (about 10 ms a file): for many files whose integrity a
    durable file written after them vouches for (evidence files and their manifest)."""
    tmp = _write_temp(path, text, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: what a report renders to: text, bytes, or bytes chunks (a large report is written as it is
#: made instead of being held whole)
Content = str | bytes | Iterable[bytes]
#: text pieces joined into one chunk by :func:`encoded` (tens of kilobytes)
PIECES = 4096


def encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """Text made a piece at a time (a template's ``generate``, a history summary) as UTF-8
    chunks of :data:`PIECES` pieces each: the text is never held whole, nor the list of its
    pieces, and the batching runs in C (a fleet's report.md is half a million pieces)."""
    it = iter(pieces)
    while batch := list(islice(it, PIECES)):
        yield "".join(batch).encode()


def _write_temp(path: Path, content: Content, durable: bool) -> str:
    """``content`` in a new temp file beside ``path`` (see :func:`write_atomic`); its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        if isinstance(content, str):
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
                _flush(fh, durable)
        else:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(content, bytes):
                    fh.write(content)
                else:
                    for chunk in content:
                        fh.write(chunk)
                _flush(fh, durable)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _flush(fh: IO[Any], durable: bool) -> None:
    fh.flush()
    if durable:
        os.fsync(fh.fileno())


def replace_reports(out: Path, rendered: Mapping[str, Content],
                    known: Iterable[str] | Callable[[], Iterable[str]] = ()) -> list[Path]:
    """Write this run's reports into ``out`` and remove the report files an earlier run
    wrote there that this run does not (named in the previous manifest, or the file name of
    any installed format), so no stale report contradicts a fresh one. Only plain file names
    directly inside ``out`` are ever removed; history and anything else stay.

    ``known`` may be a function giving the installed formats' file names: it is called only
    when ``out`` holds a file this run did not write (knowing every format's file name means
    importing every report module)."""
    # every report to its temp file first, then each renamed: a report that fails while it
    # is made (or written) leaves every earlier report as it was
    temps: list[tuple[str, Path]] = []
    try:
        for name, content in rendered.items():
            temps.append((_write_temp(out / name, content, durable=True), out / name))
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
    written = []
    for tmp, path in temps:
        os.replace(tmp, path)
        written.append(path)
    manifest = out / MANIFEST
    try:
        previous = manifest.read_text()
    except (OSError, ValueError):
        previous = None
    try:
        with os.scandir(out) as listing:  # plain files, not links: the only ones ever removed
            others = {e.name for e in listing if e.is_file(follow_symlinks=False)}
    except FileNotFoundError:  # nothing rendered, nothing there
        others = set()
    others -= {*rendered, MANIFEST}
    earlier: set[str] = set()
    if others:
        earlier |= set(known() if callable(known) else known)
        try:
            listed = json.loads(previous or "").get("reports", [])
            earlier |= {n for n in listed if isinstance(n, str)}
        except (ValueError, AttributeError):
            pass
    for name in sorted(earlier & others):
        if _BARE_NAME.match(name):
            (out / name).unlink(missing_ok=True)
    text = json.dumps({"reports": sorted(rendered)}, indent=1) + "\n"
    if text != previous:  # the same reports as last time: the manifest already says so
        write_atomic(manifest, text)
    return written


_CAPABILITY_FIELDS = ("$.scope.kind", "$.scope.name", "$.id", "$.status", "$.title")
_PLACEMENT_FIELDS = ("$.framework", "$.scope.kind", "$.scope.name", "$.stage", "$.provisional")


def _statuses(doc: Assessment) -> Iterator[tuple[str, str, str]]:
    """(``kind:name:capability``, status, title) of every capability result."""
    for kind, name, cid, status, title in doc.fields("capabilities", *_CAPABILITY_FIELDS):
        yield f"{kind}:{name}:{cid}", status, title


def _stages(doc: Assessment) -> Iterator[dict[str, Any]]:
    for framework, kind, name, stage, provisional in doc.fields("placements", *_PLACEMENT_FIELDS):
        yield {"framework": framework, "scope": {"kind": kind, "name": name}, "stage": stage,
               "provisional": bool(provisional)}


def summary(assessment: Mapping[str, Any]) -> dict[str, Any]:
    """What history keeps of a run: placements and capability statuses, no evidence."""
    return json.loads("".join(_summary_text(Assessment.from_dict(assessment))))  # type: ignore[arg-type]


#: how a summary starts when each capability status is on a line of its own (see
#: :func:`previous_run`)
_LINED = '{"capabilities":{'


def _summary_text(doc: Assessment) -> Iterator[str]:
    """:func:`summary` as compact JSON, a piece at a time (one item of a fleet's 66,000
    capability statuses is never all of them in memory), each status on a line of its own
    so that :func:`previous_run` can read them back the same way."""
    dump = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode
    yield _LINED
    for n, (key, status, _) in enumerate(_statuses(doc)):
        yield f"{',' if n else ''}\n{dump(key)}:{dump(status)}"
    yield f'\n}},"partial":{dump(doc["partial"])},"placements":['
    for n, p in enumerate(_stages(doc)):
        yield (',' if n else '') + dump(p)
    yield f'],"run":{dump(doc["run"])}}}\n'


def append_history(history_dir: Path, assessment: Assessment) -> Path:
    """One file per run, written atomically: a crashed run never damages earlier history.

    Gzipped JSON (``zcat`` reads it): a scheduled run over 1,000 repositories keeps 33,000
    capability statuses, 1.8 MB a day as indented JSON and 0.1 MB compressed — a year of
    daily runs must not fill the volume the reports live on. Compressed as it is made."""
    import zlib

    stamp = assessment["run"]["started_at"].replace(":", "").replace("-", "")
    path = history_dir / f"{stamp}-{assessment['run']['id'][:8]}.json.gz"

    def gzipped() -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
        for chunk in encoded(_summary_text(assessment)):
            yield packer.compress(chunk)
        yield packer.flush()

    write_atomic(path, gzipped())
    return path


def previous_run(history_dir: Path, exclude: Path | None = None) -> dict[str, Any] | None:
    """The newest readable summary (``.json.gz``, or ``.json`` as earlier versions wrote).

    Its capability statuses (33 a project) are read a line at a time into a
    :class:`Statuses` mapping on disk, not held; a summary written before they had lines of
    their own is read whole."""
    import gzip

    if not history_dir.is_dir():
        return None
    found = [*history_dir.glob("*.json"), *history_dir.glob("*.json.gz")]
    for path in sorted(found, key=lambda p: p.name, reverse=True):
        if exclude is not None and path == exclude:
            continue
        try:
            with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz"
                  else path.open(encoding="utf-8")) as fh:
                return _read_summary(fh)
        except (OSError, ValueError, EOFError):  # gzip.BadGzipFile is an OSError
            continue
    return None


def _read_summary(fh: IO[str]) -> dict[str, Any]:
    first = fh.readline()
    if first.rstrip("\n") != _LINED:
        return json.loads(first + fh.read())
    statuses = Statuses()
    pairs: list[tuple[str, str]] = []
    for line in fh:
        if line.startswith("}"):  # the rest: partial, placements, run
            rest = json.loads("{" + line[2:] + fh.read())
            statuses.add(pairs)
            return {**rest, "capabilities": statuses}
        [(key, status)] = json.loads("{" + line.rstrip().rstrip(",") + "}").items()
        pairs.append((key, status))
        if len(pairs) >= 1024:
            statuses.add(pairs)
            pairs = []
    raise ValueError("the summary ends early")


class Statuses(Mapping[str, str]):
    """A previous run's capability statuses (``kind:name:capability`` → status) in a private
    temporary SQLite database: looked up one at a time by :func:`changes`, never all held."""

    def __init__(self) -> None:
        from auditor.scratch import scratch_db

        self._db = scratch_db("CREATE TABLE status (key TEXT PRIMARY KEY, status TEXT NOT NULL);")

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO status VALUES (?, ?)", pairs)

    def __getitem__(self, key: str) -> str:
        row = self._db.execute("SELECT status FROM status WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __iter__(self) -> Iterator[str]:
        return (key for (key,) in self._db.execute("SELECT key FROM status ORDER BY key"))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM status").fetchone()[0]


def changes(previous: dict[str, Any] | None, assessment: Mapping[str, Any]) -> dict[str, Any]:
    """Stage and capability changes since the previous run (from its history summary).

    Only scopes and capabilities present in both runs are compared: a target added to the
    audit is new, not a change."""
    if not previous:
        return {"previous_run": None, "placements": [], "capabilities": []}
    doc = Assessment.from_dict(assessment)  # type: ignore[arg-type]
    run = previous.get("run") or {}
    before = {(p["framework"], p["scope"]["kind"], p["scope"]["name"]): p
              for p in previous.get("placements", [])}
    stages = []
    for p in _stages(doc):
        old = before.get((p["framework"], p["scope"]["kind"], p["scope"]["name"]))
        if old is not None and old["stage"] != p["stage"]:
            stages.append({"framework": p["framework"], "scope": p["scope"],
                           "from": old["stage"], "to": p["stage"]})
    old_caps = previous.get("capabilities") or {}
    caps = []
    for key, status, title in _statuses(doc):
        was = old_caps.get(key)
        if was is not None and was != status:
            kind, name, cid = _split_key(key)
            caps.append({"scope": {"kind": kind, "name": name}, "capability": cid, "title": title,
                         "from": was, "to": status})
    return {"previous_run": {"id": run.get("id"), "started_at": run.get("started_at")},
            "placements": stages, "capabilities": caps}


def _split_key(key: str) -> tuple[str, str, str]:
    """``kind:name:capability`` → its parts (a scope's name may hold a colon; a kind and a
    capability id do not)."""
    kind, rest = key.split(":", 1)
    name, cid = rest.rsplit(":", 1)
    return kind, name, cid
