"""Paged listing through MLflow's search calls, bounded by the settings.

Runs: the newest ``max_runs`` runs of every active experiment. One ``search_runs`` call can
cover several experiments, so experiments are packed into groups sized from the run counts
seen so far (aiming at ~90 % of a page, so a full page is rare). A group's page that ends
without a next-page token holds every run of those experiments; when a group holds more runs
than its budget, experiments left under-sampled are re-read on their own. The number of
requests thus grows with experiments / page size plus a few re-reads — never with total runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from auditor.errors import ListingCut
from auditor.limits import PageGuard
from probes.mlflow.runs import ExperimentRuns

EXPERIMENTS_PAGE = 1000
MODELS_PAGE = 1000
MAX_IDS_PER_SEARCH = 200
_ORDER = ["attributes.start_time DESC"]


def list_experiments(store: Any, check: Callable[[], None]) -> list[Any]:
    """Every experiment, active and deleted (experiments are few; each is one small record)."""
    from mlflow.entities import ViewType

    out: list[Any] = []
    token = None
    guard = PageGuard("experiments search", error=ListingCut)
    while True:
        check()
        page = store.search_experiments(view_type=ViewType.ALL, max_results=EXPERIMENTS_PAGE,
                                        page_token=token)
        out.extend(page)
        token = page.token
        if not token or not page:
            return out
        guard.next(token)


class RunSampler:
    """Yields one :class:`ExperimentRuns` per experiment, in groups."""

    def __init__(self, store: Any, max_runs: int, page_size: int, now_ms: int,
                 check: Callable[[], None]) -> None:
        self.store = store
        self.max_runs = max_runs
        self.page_size = page_size
        self.now_ms = now_ms
        self.check = check
        self._seen_runs = 0
        self._seen_experiments = 0

    def _estimate(self) -> float:
        """Runs expected per experiment (sampled so far; the cap before anything is seen)."""
        if not self._seen_experiments:
            return float(self.max_runs)
        return max(1.0, self._seen_runs / self._seen_experiments)

    def _group_size(self) -> int:
        target = self.page_size * 0.9
        return max(1, min(MAX_IDS_PER_SEARCH, int(target // self._estimate())))

    def _search(self, ids: list[str], max_results: int, token: str | None) -> Any:
        from mlflow.entities import ViewType

        self.check()
        return self.store.search_runs(ids, "", ViewType.ACTIVE_ONLY, max_results=max_results,
                                      order_by=_ORDER, page_token=token)

    def sample(self, experiment_ids: list[str]) -> Iterator[ExperimentRuns]:
        queue = list(experiment_ids)
        while queue:
            size = self._group_size()
            group, queue = queue[:size], queue[size:]
            yield from self._sample_group(group)

    def _sample_group(self, group: list[str]) -> Iterator[ExperimentRuns]:
        summaries = {e: ExperimentRuns(e, self.now_ms) for e in group}
        budget = len(group) * self.max_runs
        fetched, token, complete = 0, None, False
        guard = PageGuard("runs search", error=ListingCut)
        while True:
            page = self._search(group, min(self.page_size, budget - fetched), token)
            for run in page:
                s = summaries.get(run.info.experiment_id)
                if s is None:
                    continue
                if s.sampled < self.max_runs:
                    _add(s, run)
                else:
                    s.truncated = True
            fetched += len(page)
            token = page.token
            if not token:
                complete = True
                break
            if fetched >= budget or all(s.sampled >= self.max_runs for s in summaries.values()):
                break
            guard.next(token)
        for exp_id, s in summaries.items():
            if s.sampled >= self.max_runs:
                s.truncated = s.truncated or not complete
            elif not complete:
                summaries[exp_id] = s = self._sample_one(exp_id)
            self._seen_runs += s.sampled
            self._seen_experiments += 1
            yield s

    def _sample_one(self, exp_id: str) -> ExperimentRuns:
        s = ExperimentRuns(exp_id, self.now_ms)
        token = None
        guard = PageGuard("runs search", error=ListingCut)
        while s.sampled < self.max_runs:
            page = self._search([exp_id], min(self.page_size, self.max_runs - s.sampled), token)
            for run in page:
                _add(s, run)
            token = page.token
            if not token:
                return s
            guard.next(token)
        s.truncated = True
        return s


def _add(summary: ExperimentRuns, run: Any) -> None:
    """One malformed run must not end the listing: it is counted as skipped."""
    try:
        summary.add(run)
    except Exception:
        summary.skipped += 1


def list_registered_models(store: Any, check: Callable[[], None]) -> list[Any]:
    out: list[Any] = []
    token = None
    guard = PageGuard("registered models search", error=ListingCut)
    while True:
        check()
        page = store.search_registered_models(max_results=MODELS_PAGE, page_token=token)
        out.extend(page)
        token = page.token
        if not token or not page:
            return out
        guard.next(token)


def list_model_versions(store: Any, limit: int, check: Callable[[], None]) -> tuple[list[Any], bool]:
    """The newest ``limit`` versions across the registry, and whether more exist."""
    out: list[Any] = []
    token = None
    page_size = min(limit, 10_000)
    guard = PageGuard("model versions search", error=ListingCut)
    while len(out) < limit:
        check()
        page = store.search_model_versions(max_results=min(page_size, limit - len(out)),
                                           order_by=["creation_timestamp DESC"], page_token=token)
        out.extend(page)
        token = page.token
        if not token or not page:
            return out, False
        guard.next(token)
    return out, True
