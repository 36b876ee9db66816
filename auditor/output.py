"""Atomic file writes (temp file + rename), the reports folder, and run history kept next
to the reports."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

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


def summary(assessment: dict[str, Any]) -> dict[str, Any]:
    """What history keeps of a run: placements and capability statuses, no evidence."""
    return {
        "run": assessment["run"],
        "partial": assessment["partial"],
        "placements": [{"framework": p["framework"], "scope": p["scope"], "stage": p["stage"],
                        "provisional": p.get("provisional", False)}
                       for p in assessment["placements"]],
        "capabilities": {f"{c['scope']['kind']}:{c['scope']['name']}:{c['id']}": c["status"]
                         for c in assessment["capabilities"]},
    }


def append_history(history_dir: Path, assessment: dict[str, Any]) -> Path:
    """One file per run, written atomically: a crashed run never damages earlier history.

    Gzipped JSON (``zcat`` reads it): a scheduled run over 1,000 repositories keeps 33,000
    capability statuses, 1.8 MB a day as indented JSON and 0.1 MB compressed — a year of
    daily runs must not fill the volume the reports live on."""
    import gzip

    stamp = assessment["run"]["started_at"].replace(":", "").replace("-", "")
    path = history_dir / f"{stamp}-{assessment['run']['id'][:8]}.json.gz"
    text = json.dumps(summary(assessment), separators=(",", ":"), sort_keys=True) + "\n"
    write_atomic(path, gzip.compress(text.encode(), mtime=0))
    return path


def previous_run(history_dir: Path, exclude: Path | None = None) -> dict[str, Any] | None:
    """The newest readable summary (``.json.gz``, or ``.json`` as earlier versions wrote)."""
    import gzip

    if not history_dir.is_dir():
        return None
    found = [*history_dir.glob("*.json"), *history_dir.glob("*.json.gz")]
    for path in sorted(found, key=lambda p: p.name, reverse=True):
        if exclude is not None and path == exclude:
            continue
        try:
            data = path.read_bytes()
            return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
        except (OSError, ValueError, EOFError):  # gzip.BadGzipFile is an OSError
            continue
    return None


def changes(previous: dict[str, Any] | None, assessment: dict[str, Any]) -> dict[str, Any]:
    """Stage and capability changes since the previous run (from its history summary).

    Only scopes and capabilities present in both runs are compared: a target added to the
    audit is new, not a change."""
    if not previous:
        return {"previous_run": None, "placements": [], "capabilities": []}
    run = previous.get("run") or {}
    before = {(p["framework"], p["scope"]["kind"], p["scope"]["name"]): p
              for p in previous.get("placements", [])}
    stages = []
    for p in assessment["placements"]:
        old = before.get((p["framework"], p["scope"]["kind"], p["scope"]["name"]))
        if old is not None and old["stage"] != p["stage"]:
            stages.append({"framework": p["framework"], "scope": p["scope"],
                           "from": old["stage"], "to": p["stage"]})
    old_caps = previous.get("capabilities") or {}
    caps = []
    for c in assessment["capabilities"]:
        was = old_caps.get(f"{c['scope']['kind']}:{c['scope']['name']}:{c['id']}")
        if was is not None and was != c["status"]:
            caps.append({"scope": c["scope"], "capability": c["id"], "title": c["title"],
                         "from": was, "to": c["status"]})
    return {"previous_run": {"id": run.get("id"), "started_at": run.get("started_at")},
            "placements": stages, "capabilities": caps}
