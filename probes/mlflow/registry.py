"""Summaries of the model registry: one per registered model, from a bounded version sample."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from probes.mlflow.runs import DAY_MS, clip

PRODUCTION_ALIASES = ("champion", "production", "prod", "live", "serving")
_APPROVAL_WORDS = ("approv", "sign_off", "signoff", "signed_off", "reviewed_by")


def _is_approval(key: str, value: str) -> bool:
    text = f"{key} {value}".lower()
    return any(w in text for w in _APPROVAL_WORDS)


@dataclass
class ModelSummary:
    name: str
    description: bool = False
    tags: int = 0
    aliases: dict[str, str] = field(default_factory=dict)
    versions: int = 0
    latest_version: str = ""
    statuses: Counter = field(default_factory=Counter)
    stages: Counter = field(default_factory=Counter)
    without_run: int = 0
    described_versions: int = 0
    new_last_90d: int = 0
    newest_ms: int = 0
    approvals: list[str] = field(default_factory=list)
    approval_version: str = ""
    team: str = ""
    #: version -> creation ms, only for versions that matter (production, promoted)
    created: dict[str, int] = field(default_factory=dict)
    promotion_days: list[float] = field(default_factory=list)
    production_version: str = ""

    @property
    def ready(self) -> bool:
        return self.statuses.get("READY", 0) > 0


def summarize_registry(models: list[Any], versions: list[Any], now_ms: int) -> list[ModelSummary]:
    by_name: dict[str, ModelSummary] = {}
    for m in models:
        s = ModelSummary(name=m.name)
        s.description = bool((m.description or "").strip())
        tags = m.tags or {}
        s.tags = len(tags)
        s.team = clip(next((v for k, v in tags.items() if k.lower() in ("team", "owner_team", "group")), ""), 60)
        aliases = m.aliases or {}
        if isinstance(aliases, list):  # older clients: list of RegisteredModelAlias
            aliases = {a.alias: a.version for a in aliases}
        s.aliases = {clip(k, 40): str(v) for k, v in sorted(aliases.items())[:20]}
        for key, value in tags.items():
            if _is_approval(key, str(value)) and len(s.approvals) < 5:
                s.approvals.append(clip(key, 60))
        prod = next((s.aliases[a] for a in PRODUCTION_ALIASES if a in s.aliases), "")
        s.production_version = prod
        by_name[m.name] = s
    for v in versions:
        s = by_name.get(v.name) or by_name.setdefault(v.name, ModelSummary(name=v.name))
        _add_version(s, v, now_ms)
    return [by_name[n] for n in sorted(by_name)]


def _add_version(s: ModelSummary, v: Any, now_ms: int) -> None:
    s.versions += 1
    created = int(v.creation_timestamp or 0)
    if created >= s.newest_ms:
        s.newest_ms, s.latest_version = created, str(v.version)
    s.statuses[str(v.status or "UNKNOWN")] += 1
    stage = str(v.current_stage or "None")
    s.stages[stage] += 1
    s.without_run += not (v.run_id or "").strip()
    s.described_versions += bool((v.description or "").strip())
    s.new_last_90d += created and (now_ms - created) <= 90 * DAY_MS
    for key, value in (v.tags or {}).items():
        if _is_approval(key, str(value)):
            if len(s.approvals) < 5:
                _append_unique(s.approvals, clip(key, 60))
            s.approval_version = s.approval_version or str(v.version)
    version = str(v.version)
    if stage == "Production" and not s.production_version:
        s.production_version = version
    if stage in ("Production", "Staging"):
        updated = int(v.last_updated_timestamp or 0)
        if created and updated >= created:
            s.promotion_days.append((updated - created) / DAY_MS)
    if created and (version == s.production_version or stage == "Production"):
        s.created[version] = created


def _append_unique(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
