"""Reading a snapshot folder of ``kubectl get ... -o yaml|json`` output.

Files may hold Lists (``kind: List`` or typed lists such as ``DeploymentList``), single
objects, or several YAML documents. ``kubectl version -o json|yaml`` output (or a raw
``/version`` answer) gives the server version. CustomResourceDefinitions in the snapshot
say which platforms are installed, as discovery does on a live cluster. Secrets are skipped
unread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.yamlload import TooDeep, refuse_deep, safe_loader

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class SnapshotItem:
    group: str
    kind: str
    obj: dict


@dataclass
class BadFile:
    path: str
    reason: str


@dataclass
class SnapshotScan:
    """What a scan saw besides objects: version, kinds available, file problems."""

    version: dict[str, Any] | None = None
    available: set[tuple[str, str]] = field(default_factory=set)
    seen_kinds: set[str] = field(default_factory=set)
    files: int = 0


def split_api_version(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""`` (core)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def files_in(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _documents(path: Path) -> Iterator[Any]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            try:
                yield json.loads(text)
                return
            except ValueError as exc:
                raise ValueError(f"not valid JSON: {exc}") from None
    try:
        refuse_deep(text)  # libyaml would crash, not raise, on absurd nesting
        yield from yaml.load_all(text, Loader=safe_loader())  # noqa: S506 - safe loader
    except TooDeep:
        raise ValueError("not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ValueError(f"not valid YAML{line}: {problem}") from None


def read_snapshot(folder: Path, scan: SnapshotScan) -> Iterator[SnapshotItem | BadFile]:
    """Every object in the folder, in file order; unreadable files come out as BadFile."""
    for path in files_in(folder):
        rel = str(path.relative_to(folder)) if path != folder else path.name
        scan.files += 1
        try:
            docs = list(_documents(path))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            yield BadFile(rel, str(exc) if isinstance(exc, ValueError) else type(exc).__name__)
            continue
        useful = 0
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                yield BadFile(rel, "a document is not a Kubernetes object or List")
                continue
            if _is_version(doc):
                scan.version = dict(doc.get("serverVersion") or doc)
                useful += 1
                continue
            for item in _objects(doc):
                useful += 1
                kind = str(item.get("kind") or "")
                group = split_api_version(str(item.get("apiVersion") or ""))
                if not kind or kind == "Secret" and group == "":
                    continue
                scan.seen_kinds.add(kind)
                if kind == "CustomResourceDefinition":
                    _crd(item, scan)
                    continue
                scan.available.add((group, kind))
                yield SnapshotItem(group, kind, item)
        if not useful and any(d is not None for d in docs):
            yield BadFile(rel, "holds no Kubernetes objects (missing kind/apiVersion)")


def _is_version(doc: dict) -> bool:
    return isinstance(doc.get("serverVersion"), dict) or ("gitVersion" in doc and "major" in doc)


def _objects(doc: dict) -> Iterator[dict]:
    kind = str(doc.get("kind") or "")
    items = doc.get("items")
    if isinstance(items, list) and (kind == "List" or kind.endswith("List")):
        item_kind = kind.removesuffix("List") if kind != "List" else ""
        api_version = str(doc.get("apiVersion") or "")
        for item in items:
            if not isinstance(item, dict):
                continue
            if item_kind and not item.get("kind"):  # typed lists (raw API output) omit kind
                item = {**item, "kind": item_kind, "apiVersion": item.get("apiVersion") or api_version}
            yield item
    elif kind and doc.get("apiVersion"):
        yield doc


def _crd(item: dict, scan: SnapshotScan) -> None:
    spec = item.get("spec") if isinstance(item.get("spec"), dict) else {}
    group = str(spec.get("group") or "")
    kind = str((spec.get("names") or {}).get("kind") or "")
    if group and kind:
        scan.available.add((group, kind))
