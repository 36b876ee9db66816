"""Atomic file writes (temp file + rename) and run history kept next to the reports."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary(assessment: dict[str, Any]) -> dict[str, Any]:
    """What history keeps of a run: placements and capability statuses, no evidence."""
    return {
        "run": assessment["run"],
        "partial": assessment["partial"],
        "placements": [{"framework": p["framework"], "scope": p["scope"], "stage": p["stage"]}
                       for p in assessment["placements"]],
        "capabilities": {f"{c['scope']['kind']}:{c['scope']['name']}:{c['id']}": c["status"]
                         for c in assessment["capabilities"]},
    }


def append_history(history_dir: Path, assessment: dict[str, Any]) -> Path:
    """One file per run, written atomically: a crashed run never damages earlier history."""
    stamp = assessment["run"]["started_at"].replace(":", "").replace("-", "")
    path = history_dir / f"{stamp}-{assessment['run']['id'][:8]}.json"
    write_atomic(path, json.dumps(summary(assessment), indent=1, sort_keys=True) + "\n")
    return path


def previous_run(history_dir: Path, exclude: Path | None = None) -> dict[str, Any] | None:
    if not history_dir.is_dir():
        return None
    for path in sorted(history_dir.glob("*.json"), reverse=True):
        if exclude is not None and path == exclude:
            continue
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


def changes(previous: dict[str, Any] | None, assessment: dict[str, Any]) -> list[dict[str, Any]]:
    """Placement changes since the previous run, per framework and scope."""
    if not previous:
        return []
    before = {(p["framework"], p["scope"]["kind"], p["scope"]["name"]): p["stage"]
              for p in previous.get("placements", [])}
    out = []
    for p in assessment["placements"]:
        key = (p["framework"], p["scope"]["kind"], p["scope"]["name"])
        if key in before and before[key] != p["stage"]:
            out.append({"framework": p["framework"], "scope": p["scope"],
                        "from": before[key], "to": p["stage"]})
    return out
