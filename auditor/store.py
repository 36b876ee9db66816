"""Evidence files: what ``collect`` writes and ``assess`` reads.

One file per target, ``<safe-name>-<hash>.jsonl.gz``: gzip-compressed JSON Lines, a versioned
header line, then one record a line — ``holdings`` (what the target holds, for links made in
other shards), ``evidence``, ``unobserved`` and ``timing``. Each is written atomically as soon
as its target's probe finishes, so a collector holds one target at a time, never the fleet.
The second pass (links resolved in this run) appends a gzip member to the files it concerns
(one gzip stream may hold several), again through a temp file and a rename.

A ``manifest.json`` (``manifest-I-of-N.json`` for a shard) is written last: it names every
target file of the run with its SHA-256, the whole fleet (so a missing shard's targets are
known by name), and the policy, waivers and settings ``assess`` needs. No environment value
or credential is written: evidence is redacted where it is made, and every configuration
string written here passes the redactor too. A folder without a manifest holds no complete
collect run.

The JSON Schemas of both: ``auditor/schema/evidence-file.schema.json`` (a line) and
``auditor/schema/evidence-manifest.schema.json``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import re
import tempfile
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__, shards
from auditor.audit import ProbeInfo, TargetFacts
from auditor.evidence import Evidence, Holdings, Unobserved, now_iso
from auditor.output import write_atomic
from auditor.probe import Policy, Target
from auditor.redact import one_line, redact
from auditor.spool import FactSpool

if TYPE_CHECKING:
    from auditor.config import AuditConfig

log = logging.getLogger("mlops_auditor.store")

FORMAT = "mlops-auditor-evidence"
MANIFEST_FORMAT = "mlops-auditor-evidence-manifest"
#: the evidence format this version writes and the newest it reads
VERSION = 1
SUFFIX = ".jsonl.gz"
#: an evidence file (compressed) or manifest larger than this is refused, not read
MAX_FILE_BYTES = 1 << 30
MAX_MANIFEST_BYTES = 256 << 20
MANIFEST_NAME = re.compile(r"^manifest(?:-(\d+)-of-(\d+))?\.json$")
_EVIDENCE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}\.jsonl\.gz$")
_HOLDINGS_PREFIX = b'{"type":"holdings"'


class StoreError(Exception):
    """Evidence that cannot be written or read, phrased as one line naming the file."""


def file_name(target: str) -> str:
    """``<safe-target-name>-<short hash>.jsonl.gz``: readable, and distinct for names that
    differ only in case or in characters a file name cannot hold."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", target).strip(".-")[:80] or "target"
    if not safe[0].isalnum():
        safe = "t" + safe
    return f"{safe}-{hashlib.sha256(target.encode()).hexdigest()[:8]}{SUFFIX}"


def manifest_name(shard: shards.Shard | None) -> str:
    """``manifest.json``, or ``manifest-I-of-N.json`` so shards may share one folder."""
    return "manifest.json" if shard is None else f"manifest-{shard.index}-of-{shard.count}.json"


@cache
def catalog_version() -> str:
    """The catalog's content as a short digest: capabilities, controls, tools, frameworks."""
    from auditor.catalog import CATALOG_DIR

    digest = hashlib.sha256()
    for path in sorted(CATALOG_DIR.rglob("*.yaml")):
        digest.update(path.relative_to(CATALOG_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()[:16]


def _clean(value: Any) -> Any:
    """Configuration text as it may be written: every string through the redactor (an
    expanded ``${VAR}`` is a registered secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _member(records: Sequence[dict[str, Any]]) -> bytes:
    """One gzip member of JSON lines (``type`` first: a reader can tell a line by its start)."""
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def _fleet_digest(fleet: list[list[Any]]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(fleet, sort_keys=True).encode()).hexdigest()[:16]


# -- writing -----------------------------------------------------------------------------

class EvidenceWriter:
    """The sink of a ``collect`` run (see :class:`auditor.audit.Sink`): each target's facts
    to its file as it finishes, then :meth:`finish` writes the manifest."""

    def __init__(self, out: Path, *, fleet: Sequence[Target], shard: shards.Shard | None,
                 now: datetime, config_source: str, jobs: int, policy: Mapping[str, Any],
                 waivers: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> None:
        self.out = Path(out)
        self.shard = shard
        self.now = now
        self.run_id = str(uuid.uuid4())
        self.collected_at = now_iso()
        self.fleet = [[t.name, t.kind, _clean(dict(t.labels))] for t in fleet]
        self.config_source = config_source
        self.jobs = jobs
        self.policy = _clean(dict(policy))
        self.waivers = _clean([dict(w) for w in waivers])
        self.settings = _clean(dict(settings))
        self.entries: dict[str, dict[str, Any]] = {}
        #: where the probes ran (set by the collect command once it knows)
        self.executor: str | None = None
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.out}: {exc.strerror or exc}") from None

    @classmethod
    def for_config(cls, out: Path, config: AuditConfig, *, shard: shards.Shard | None,
                   now: datetime, jobs: int) -> EvidenceWriter:
        """The writer of a collect run of ``config`` (its whole target list is the fleet)."""
        return cls(out, fleet=config.targets, shard=shard, now=now, config_source=config.source,
                   jobs=jobs, policy={"allowed_regions": list(config.policy.allowed_regions)},
                   waivers=[w.model_dump(mode="json") for w in config.waivers],
                   settings={"framework": config.settings.framework,
                             "strict": config.settings.strict})

    def _header(self, facts: TargetFacts) -> dict[str, Any]:
        t = facts.target
        return {
            "format": FORMAT, "version": VERSION, "tool_version": __version__,
            "catalog_version": catalog_version(),
            "target": {"name": t.name, "kind": t.kind, "labels": _clean(dict(t.labels))},
            "index": facts.index,
            "probe": None if facts.probe is None else {"project": facts.probe.project,
                                                       "observes": list(facts.probe.observes)},
            "collected_at": self.collected_at, "shard": str(self.shard) if self.shard else None,
            "now": _iso(self.now), "run_id": self.run_id,
        }

    def _write(self, name: str, data: bytes) -> None:
        try:
            write_atomic(self.out / self.entries[name]["file"], data, durable=False)
        except OSError as exc:
            raise StoreError(f"cannot write {self.out / self.entries[name]['file']}: "
                             f"{exc.strerror or exc}") from None
        self.entries[name].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))

    def add(self, facts: TargetFacts) -> None:
        name = facts.target.name
        records: list[dict[str, Any]] = [self._header(facts)]
        records += [{"type": "holdings", **h.to_dict()} for h in facts.holdings]
        records += [{"type": "evidence", **ev.to_dict()} for ev in facts.evidence]
        records += [{"type": "unobserved", **u.to_dict()} for u in facts.unobserved]
        records += [{"type": "timing", **t} for t in facts.timings]
        self.entries[name] = {"name": name, "file": file_name(name), "index": facts.index,
                              "evidence": len(facts.evidence), "unobserved": len(facts.unobserved),
                              "holdings": sum(len(h.items) for h in facts.holdings),
                              "failed": facts.failed}
        self._write(name, _member(records))

    def extend(self, target: str, evidence: list[Evidence], unobserved: list[Unobserved]) -> None:
        if not evidence and not unobserved:
            return
        entry = self.entries[target]
        path = self.out / entry["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read back {path}: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise StoreError(f"{path}: changed by something else while collecting")
        records = ([{"type": "evidence", **ev.to_dict()} for ev in evidence]
                   + [{"type": "unobserved", **u.to_dict()} for u in unobserved])
        entry["evidence"] += len(evidence)
        entry["unobserved"] += len(unobserved)
        self._write(target, data + _member(records))

    def finish(self) -> Path:
        """Write the manifest (durably, last) and remove the evidence files an earlier run
        of this shard listed that this one did not write (a target dropped from the
        configuration), so the folder holds one run."""
        entries = sorted(self.entries.values(), key=lambda e: e["index"])
        manifest = {
            "format": MANIFEST_FORMAT, "version": VERSION, "tool_version": __version__,
            "catalog_version": catalog_version(), "run_id": self.run_id,
            "collected_at": self.collected_at, "finished_at": now_iso(), "now": _iso(self.now),
            "shard": str(self.shard) if self.shard else None,
            "config": redact(self.config_source), "jobs": self.jobs,
            **({"executor": redact(self.executor)} if self.executor else {}),
            "fleet": {"count": len(self.fleet), "digest": _fleet_digest(self.fleet),
                      "targets": self.fleet},
            "targets": [{k: e[k] for k in ("name", "file", "sha256", "bytes", "evidence",
                                           "unobserved", "holdings", "failed")} for e in entries],
            "counts": {"targets": len(entries), "evidence": sum(e["evidence"] for e in entries),
                       "unobserved": sum(e["unobserved"] for e in entries),
                       "failed": sum(bool(e["failed"]) for e in entries)},
            "policy": self.policy, "waivers": self.waivers, "settings": self.settings,
        }
        path = self.out / manifest_name(self.shard)
        earlier: set[str] = set()
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            earlier = {t["file"] for t in json.loads(path.read_text())["targets"]}
        try:
            write_atomic(path, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        for name in sorted(earlier - {e["file"] for e in entries}):
            stale = self.out / name
            if _EVIDENCE_FILE.match(name) and stale.is_file() and not stale.is_symlink():
                stale.unlink(missing_ok=True)
        return path


# -- reading -----------------------------------------------------------------------------

@dataclass
class Inputs:
    """Facts and the configuration to assess them with (see :meth:`Stored.inputs`)."""

    facts: FactSpool
    waivers: list[Any]
    policy: Policy
    settings: Any          # auditor.config.SettingsModel
    source: str            # the configuration(s) these come from
    notes: list[str]       # worth a line on stderr

@dataclass
class _Run:
    """One manifest: a collect run (one shard of it)."""

    where: str          # as the user sees it (a path, or s3://bucket/key)
    folder: Path        # local folder holding its files
    data: dict[str, Any]

    @property
    def shard(self) -> shards.Shard:
        return shards.from_text(self.data["shard"]) or shards.Shard(1, 1)

    @property
    def group(self) -> tuple[str, int]:
        """Shards of one fleet: the same target list, cut into the same number of shards."""
        return self.data["fleet"]["digest"], self.shard.count


@dataclass
class Stored:
    """Evidence read from collect runs, ready for :func:`auditor.audit.assess`."""

    facts: FactSpool
    now: datetime
    runs: list[dict[str, Any]]
    missing_shards: list[str]
    #: the policy, waivers and settings the runs were collected with; None when they differ
    config: dict[str, Any] | None
    jobs: int
    notes: list[str] = field(default_factory=list)
    holders: list[Path] = field(default_factory=list)

    def inputs(self, config_path: str | Path | None = None) -> Inputs:
        """What to assess with: the policy, waivers and settings the runs were collected
        with, or those of ``config_path`` (whose target labels also replace the stored ones)."""
        from auditor import config

        notes = list(self.notes)
        if self.missing_shards:
            many = len(self.missing_shards) > 1
            notes.append(f"assessing without shard{'s' if many else ''} {', '.join(self.missing_shards)}: "
                         f"{'their' if many else 'its'} targets are reported as not observed")
        if config_path:
            over = config.load_overrides(config_path, [f.target for f in self.facts.collected()])
            return Inputs(self.facts.relabelled(over.labels), over.waivers, over.policy,
                          over.settings, over.source, notes)
        if self.config is None:
            raise StoreError("the evidence was collected with different policies, waivers or "
                             f"settings ({', '.join(sorted({r['config'] for r in self.runs}))}): "
                             f"give --config to say which apply")
        settings = {k: v for k, v in self.config["settings"].items()
                    if k in config.SettingsModel.model_fields}
        try:
            return Inputs(
                self.facts, [config.WaiverModel.model_validate(w) for w in self.config["waivers"]],
                Policy(tuple(self.config["policy"].get("allowed_regions", ()))),
                config.SettingsModel.model_validate(settings),
                ", ".join(dict.fromkeys(r["config"] for r in self.runs)), notes)
        except (ValueError, TypeError, AttributeError) as exc:  # pydantic's errors are ValueErrors
            raise StoreError(f"{self.runs[0]['location']}: its policy, waivers or settings are not "
                             f"valid: {one_line(str(exc))}") from None

    def assess(self, inputs: Inputs, *, frameworks: Sequence[str], strict: bool = False,
               previous: dict[str, Any] | None = None, started: datetime | None = None,
               t0: float | None = None) -> dict[str, Any]:
        """The Assessment of this evidence (see :func:`auditor.audit.assess`)."""
        from auditor.audit import assess

        return assess(inputs.facts, now=self.now, frameworks=frameworks, waivers=inputs.waivers,
                      strict=strict, previous=previous, held=self.held(), started=started, t0=t0,
                      policy=inputs.policy,
                      run={"config": inputs.source, "jobs": self.jobs,
                           "collected": {"runs": self.runs, "missing_shards": self.missing_shards}})

    def held(self) -> Iterator[Holdings]:
        """What targets hold, read again from their files (the line after the header) only
        when asked: a fleet's commit lists never sit in memory together."""
        for path in self.holders:
            try:
                with gzip.open(path, "rb") as fh:
                    fh.readline()
                    while (line := fh.readline()).startswith(_HOLDINGS_PREFIX):
                        yield Holdings.from_dict(json.loads(line))
            except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{path}: cannot read its holdings: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated (the compressed stream ends early)"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"not a gzip file or corrupted ({exc})"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg})"
    if isinstance(exc, KeyError):
        return f"a record lacks {exc}"
    return one_line(f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def open_evidence(locations: Sequence[str], *, allow_missing_shards: bool = False) -> Iterator[Stored]:
    """Read every collect run found at ``locations`` (folders holding a manifest, folders of
    such folders, or ``s3://bucket/prefix``). Raises :class:`StoreError` (one line) for a
    missing shard (unless allowed: its targets are then not observed), a file that does not
    match its manifest, or one that cannot be read."""
    with tempfile.TemporaryDirectory(prefix="mlops-evidence-") as tmp:
        runs: list[_Run] = []
        for n, location in enumerate(locations):
            if location.startswith("s3://"):
                from auditor.store_s3 import download

                runs += [_Run(where, folder, _read_manifest(folder / name, where))
                         for where, folder, name in download(location, Path(tmp) / str(n))]
            else:
                runs += [_Run(str(p), p.parent, _read_manifest(p, str(p))) for p in _manifests(location)]
        yield _load(runs, allow_missing_shards)


def _manifests(location: str) -> list[Path]:
    root = Path(location)
    if not root.is_dir():
        raise StoreError(f"{location}: {'not a folder' if root.exists() else 'no such folder'}")
    found = sorted(p for p in root.iterdir() if MANIFEST_NAME.match(p.name) and p.is_file())
    if not found:
        found = sorted(p for sub in sorted(root.iterdir()) if sub.is_dir()
                       for p in sub.iterdir() if MANIFEST_NAME.match(p.name) and p.is_file())
    if not found:
        raise StoreError(f"{location}: no evidence here (no manifest.json in it or its folders; "
                         f"is it a 'collect --out' folder whose run finished?)")
    return found


def _read_manifest(path: Path, where: str) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise StoreError(f"{where}: larger than {MAX_MANIFEST_BYTES >> 20} MiB; refused")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise StoreError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{where}: not a manifest: {_why(exc)}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise StoreError(f"{where}: not an mlops-auditor evidence manifest")
    _check_version(data, where)
    try:
        _check_manifest(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{where}: not a valid manifest: {_why(exc)}") from None
    return data


def _check_manifest(data: dict[str, Any]) -> None:
    """The parts of a manifest reading relies on are there and of the right shape."""
    shards.from_text(data["shard"])
    _parse_time(data["now"])
    if not isinstance(data["run_id"], str) or not isinstance(data["config"], str):
        raise TypeError("run_id and config must be text")
    for key in ("policy", "settings"):
        if not isinstance(data[key], dict):
            raise TypeError(f"{key} must be a mapping")
    if not isinstance(data["waivers"], list):
        raise TypeError("waivers must be a list")
    for entry in data["targets"]:
        if not all(isinstance(entry[k], str) for k in ("name", "file", "sha256")):
            raise TypeError("a target entry's name, file and sha256 must be text")
    for row in data["fleet"]["targets"]:
        name, kind, labels = row
        if not (isinstance(name, str) and isinstance(kind, str) and isinstance(labels, dict)):
            raise TypeError("fleet rows must be [name, kind, labels]")
    if not isinstance(data["fleet"]["digest"], str):
        raise TypeError("fleet.digest must be text")


def _check_version(data: Mapping[str, Any], where: str) -> None:
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise StoreError(f"{where}: no format version")
    if version > VERSION:
        raise StoreError(f"{where}: written by a newer mlops-auditor (evidence format "
                         f"{version}; this one, {__version__}, reads {VERSION}): upgrade to assess it")


def _load(runs: list[_Run], allow_missing: bool) -> Stored:
    unique: dict[tuple[str, str], _Run] = {}
    for run in runs:  # the same folder given twice is read once
        unique.setdefault((run.data["run_id"], str(run.shard)), run)
    groups: dict[tuple[str, int], dict[int, _Run]] = {}
    for run in unique.values():
        present = groups.setdefault(run.group, {})
        other = present.get(run.shard.index)
        if other is not None:
            raise StoreError(f"shard {run.shard} appears twice: {other.where} (collected "
                             f"{other.data['collected_at']}) and {run.where} (collected "
                             f"{run.data['collected_at']}); give one")
        present[run.shard.index] = run

    facts = FactSpool()
    holders: list[Path] = []
    missing: list[str] = []
    seen: dict[str, str] = {}
    offset = 0
    for (_, count), present in groups.items():
        first = next(iter(present.values()))
        fleet = first.data["fleet"]["targets"]
        absent = [i for i in range(1, count + 1) if i not in present]
        if absent and not allow_missing:
            many = len(absent) > 1
            names = ", ".join(f"{i}/{count}" for i in absent)
            elsewhere = [run.where for (_, n), other in groups.items() if n == count
                         and other is not present for i, run in other.items() if i in absent]
            why = (f"; {elsewhere[0]} has it but was collected from a different target list "
                   f"(the configuration or discovery changed between shards)" if elsewhere else "")
            raise StoreError(
                f"shard{'s' if many else ''} {names} of the collect run of {first.data['config']} "
                f"({len(fleet)} targets) {'are' if many else 'is'} missing (found "
                f"{', '.join(str(r.shard) for r in present.values())}){why}: give "
                f"{'their folders' if many else 'its folder'}, or --allow-missing-shards to "
                f"assess without {'their' if many else 'its'} targets")
        for i in absent:
            missing.append(f"{i}/{count}")
            for gone in _not_collected(fleet, shards.Shard(i, count), offset):
                facts.add(gone)
        for run in sorted(present.values(), key=lambda r: r.shard):
            for entry in run.data["targets"]:
                got, holds = _read_file(run, entry)
                if got.target.name in seen:
                    raise StoreError(f"target {got.target.name!r} was collected twice: in "
                                     f"{seen[got.target.name]} and {run.where}")
                seen[got.target.name] = run.where
                got.index += offset
                facts.add(got)  # into the spool: a fleet's evidence is never all held
                if holds:
                    holders.append(run.folder / entry["file"])
        offset += len(fleet)

    ordered = sorted(unique.values(), key=lambda r: (r.group, r.shard))
    configs = {json.dumps([r.data["policy"], r.data["waivers"], r.data["settings"]], sort_keys=True)
               for r in ordered}
    config = (dict(zip(("policy", "waivers", "settings"), json.loads(configs.pop()), strict=True))
              if len(configs) == 1 else None)
    notes = []
    for key, mine in (("tool_version", __version__), ("catalog_version", catalog_version())):
        other = sorted({r.data.get(key) for r in ordered} - {mine}, key=str)
        if other:
            notes.append(f"evidence collected with {key.replace('_', ' ')} {', '.join(map(str, other))}; "
                         f"assessing with {mine}")
    return Stored(
        facts=facts,
        now=max(_parse_time(r.data["now"]) for r in ordered),
        runs=[{"id": r.data["run_id"], "shard": r.data["shard"], "collected_at": r.data["collected_at"],
               "config": r.data["config"], "targets": len(r.data["targets"]), "location": r.where}
              for r in ordered],
        missing_shards=missing, config=config, jobs=max(int(r.data.get("jobs") or 1) for r in ordered),
        notes=notes, holders=holders)


def _not_collected(fleet: list[list[Any]], shard: shards.Shard, offset: int) -> list[TargetFacts]:
    """The targets of a missing shard: known by name, not observed (``--allow-missing-shards``)."""
    from auditor import registry

    out = []
    for i, (name, kind, labels) in enumerate(fleet):
        if not shard.holds(name):
            continue
        probe = registry.probe_for(kind)
        out.append(TargetFacts(
            Target(name=name, kind=kind, labels=dict(labels)), offset + i,
            ProbeInfo.of(probe) if probe is not None else None,
            unobserved=[Unobserved(name, kind, kind, f"not collected: shard {shard} is missing",
                                   tuple(probe.signals) if probe is not None else ())]))
    return out


def _read_file(run: _Run, entry: Mapping[str, Any]) -> tuple[TargetFacts, bool]:
    """One target's file, checked against its manifest entry; holdings are skipped here (see
    :meth:`Stored.held`). Returns the facts and whether it holds anything."""
    path = run.folder / entry["file"]
    where = str(path) if not run.where.startswith("s3://") else run.where.rsplit("/", 1)[0] + "/" + entry["file"]
    if not _EVIDENCE_FILE.match(str(entry["file"])):
        raise StoreError(f"{run.where}: lists {entry['file']!r}, not an evidence file name")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise StoreError(f"{where}: larger than {MAX_FILE_BYTES >> 20} MiB; refused")
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{where}: missing (listed in {run.where}); collect this shard again") from None
    except OSError as exc:
        raise StoreError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise StoreError(f"{where}: does not match {run.where} (truncated or changed after collect); "
                         f"collect this shard again")
    facts: TargetFacts | None = None
    holds = False
    n = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            for n, line in enumerate(fh, 1):
                if n == 1:
                    facts = _header(json.loads(line), run, entry, where)
                    continue
                if line.startswith(_HOLDINGS_PREFIX):
                    holds = True
                    continue
                record = json.loads(line)
                kind = record.pop("type")
                if kind == "evidence":
                    facts.evidence.append(Evidence.from_dict(record))
                elif kind == "unobserved":
                    facts.unobserved.append(Unobserved.from_dict(record))
                elif kind == "timing":
                    facts.timings.append({k: record[k] for k in ("target", "probe", "seconds",
                                                                 "evidence", "status")})
                else:
                    raise ValueError(f"unknown record type {kind!r}")
    except StoreError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{where}: line {n}: {_why(exc)}") from None
    if facts is None:
        raise StoreError(f"{where}: empty")
    return facts, holds


def _header(head: Any, run: _Run, entry: Mapping[str, Any], where: str) -> TargetFacts:
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise StoreError(f"{where}: not an mlops-auditor evidence file")
    _check_version(head, where)
    if head.get("run_id") != run.data["run_id"] or head["target"]["name"] != entry["name"]:
        raise StoreError(f"{where}: belongs to another collect run or target than {run.where} "
                         f"says; collect this shard again")
    t = head["target"]
    probe = head.get("probe")
    return TargetFacts(
        Target(name=t["name"], kind=t["kind"], labels=dict(t.get("labels") or {})),
        int(head["index"]),
        None if probe is None else ProbeInfo(bool(probe["project"]), tuple(probe["observes"])))
