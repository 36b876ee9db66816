"""Aggregate a sample of runs per experiment into a small summary (no run is kept)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.refs import commit_key
from probes.mlflow.patterns import DISTRIBUTED_PARAMS, categories

DAY_MS = 86_400_000
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
AUTOMATED_SOURCES = {"JOB", "PROJECT"}
#: names (tags, metrics, artifacts) kept per category, and commits/datasets kept per experiment
KEEP = 20


def clip(value: Any, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _add_capped(items: list[str], value: str, limit: int = KEEP) -> None:
    if value not in items and len(items) < limit:
        items.append(value)


@dataclass
class CategoryHits:
    """Runs whose metric/tag/artifact names fall in one category (drift, fairness ...)."""

    runs: int = 0
    automated_runs: int = 0
    recent_runs: int = 0
    recent_automated_runs: int = 0
    names: list[str] = field(default_factory=list)
    run_id: str = ""


@dataclass
class ExperimentRuns:
    experiment_id: str
    now_ms: int
    sampled: int = 0
    skipped: int = 0
    truncated: bool = False
    last_7d: int = 0
    last_30d: int = 0
    last_90d: int = 0
    last_28d: int = 0
    newest_ms: int = 0
    oldest_ms: int = 0
    newest_run_id: str = ""
    users: set[str] = field(default_factory=set)
    sources: Counter = field(default_factory=Counter)
    with_params: int = 0
    with_metrics: int = 0
    automated: int = 0
    automated_recent: int = 0
    automated_run_id: str = ""
    databricks_jobs: int = 0
    with_commit: int = 0
    commits: list[str] = field(default_factory=list)
    commit_run_id: str = ""
    repo_urls: list[str] = field(default_factory=list)
    with_datasets: int = 0
    datasets: list[str] = field(default_factory=list)
    dataset_run_id: str = ""
    children: int = 0
    parents: set[str] = field(default_factory=set)
    distributed_runs: int = 0
    distributed_run_id: str = ""
    gpu_runs: int = 0
    gpu_recent: int = 0
    gpu_run_id: str = ""
    hits: dict[str, CategoryHits] = field(default_factory=dict)

    def add(self, run: Any) -> None:
        info, data = run.info, run.data
        tags: dict[str, str] = data.tags or {}
        start = int(info.start_time or 0)
        age_days = (self.now_ms - start) / DAY_MS if start else 10**9
        recent = age_days <= 30
        self.sampled += 1
        if not self.newest_run_id or start > self.newest_ms:
            self.newest_ms, self.newest_run_id = start, info.run_id
        self.oldest_ms = start if not self.oldest_ms else min(self.oldest_ms, start)
        self.last_7d += age_days <= 7
        self.last_28d += age_days <= 28
        self.last_30d += recent
        self.last_90d += age_days <= 90
        user = info.user_id or tags.get("mlflow.user") or ""
        if user and len(self.users) < 1000:
            self.users.add(clip(user, 80))
        source = (tags.get("mlflow.source.type") or "UNKNOWN").upper()[:20]
        self.sources[source] += 1
        self.with_params += bool(data.params)
        self.with_metrics += bool(data.metrics)
        automated = source in AUTOMATED_SOURCES or "mlflow.databricks.jobID" in tags
        self.databricks_jobs += "mlflow.databricks.jobID" in tags
        if automated:
            self.automated += 1
            self.automated_recent += recent
            self.automated_run_id = self.automated_run_id or info.run_id
        self._lineage(info.run_id, tags)
        self._datasets(info.run_id, run)
        if tags.get("mlflow.parentRunId"):
            self.children += 1
            if len(self.parents) < 1000:
                self.parents.add(tags["mlflow.parentRunId"][:64])
        if self._distributed(data.params or {}):
            self.distributed_runs += 1
            self.distributed_run_id = self.distributed_run_id or info.run_id
        metrics = data.metrics or {}
        if any(k.startswith("system/gpu") for k in metrics):
            self.gpu_runs += 1
            self.gpu_recent += recent
            self.gpu_run_id = self.gpu_run_id or info.run_id
        self._categorize(info.run_id, metrics, tags, run, automated, recent)

    def _lineage(self, run_id: str, tags: dict[str, str]) -> None:
        sha = tags.get("mlflow.source.git.commit") or tags.get("mlflow.databricks.gitRepoCommit")
        if not sha or not _SHORT_SHA.match(sha):
            return  # absent, or not a commit id (free text, a truncated 8,000-char value)
        self.with_commit += 1
        self.commit_run_id = self.commit_run_id or run_id
        if commit_key(sha):
            _add_capped(self.commits, sha.lower())
        url = tags.get("mlflow.source.git.repoURL") or tags.get("mlflow.databricks.gitRepoUrl")
        if url:
            _add_capped(self.repo_urls, clip(url, 200), 5)

    def _datasets(self, run_id: str, run: Any) -> None:
        inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
        if not inputs:
            return
        self.with_datasets += 1
        self.dataset_run_id = self.dataset_run_id or run_id
        for item in inputs:
            ds = item.dataset
            _add_capped(self.datasets, clip(f"{ds.name}@{ds.digest}", 100))

    @staticmethod
    def _distributed(params: dict[str, str]) -> bool:
        for key, value in params.items():
            if key.lower().rsplit(".", 1)[-1] in DISTRIBUTED_PARAMS:
                try:
                    if float(value) > 1:
                        return True
                except (TypeError, ValueError):
                    continue
        return False

    def _categorize(self, run_id: str, metrics: dict[str, float], tags: dict[str, str],
                    run: Any, automated: bool, recent: bool) -> None:
        names = list(metrics) + [k for k in tags if not k.startswith("mlflow.")]
        names += _logged_artifacts(tags)
        if tags.get("mlflow.runType") == "genai_evaluate":
            names.append("evaluation")
        inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
        for item in inputs:
            for tag in item.tags or []:
                if tag.key == "mlflow.data.context" and "eval" in (tag.value or "").lower():
                    names.append("evaluation")
        found: dict[str, list[str]] = {}
        for name in names:
            for cat in categories(name):
                found.setdefault(cat, []).append(name)
        for cat, hit_names in found.items():
            hit = self.hits.setdefault(cat, CategoryHits())
            hit.runs += 1
            hit.automated_runs += automated
            hit.recent_runs += recent
            hit.recent_automated_runs += automated and recent
            hit.run_id = hit.run_id or run_id
            for name in hit_names:
                _add_capped(hit.names, clip(name, 80), 10)

    @property
    def last_run_days(self) -> float | None:
        return round((self.now_ms - self.newest_ms) / DAY_MS, 1) if self.newest_ms else None


def _logged_artifacts(tags: dict[str, str]) -> list[str]:
    """Artifact paths MLflow lists in the ``mlflow.loggedArtifacts`` tag (tables, images)."""
    raw = tags.get("mlflow.loggedArtifacts")
    if not raw or len(raw) > 20_000:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    return [str(i.get("path", ""))[:120] for i in items if isinstance(i, dict)][:50]


def now_ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)
