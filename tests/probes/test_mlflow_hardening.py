"""The MLflow probe against a server that is not MLflow, one whose pages never end, and one
whose answer is larger than the probe will hold."""

from __future__ import annotations

from tests.servers._util import foreign_json_api

ALL_PREFIXES = {"tracking", "registry", "lineage", "schedule", "monitoring"}


def test_a_foreign_json_api_is_not_mlflow(mlflow_collect) -> None:
    with foreign_json_api() as url:
        got = mlflow_collect(url)
    assert got.evidence == []
    [u] = got.unobserved
    assert "not an MLflow tracking server" in u.reason and "\n" not in u.reason
    assert set(u.signals) >= ALL_PREFIXES


def test_a_repeated_page_token_stops_the_listing(mlflow_servers, mlflow_stub, mlflow_collect) -> None:
    """Every search answer names the same next page: the probe stops at the second page
    instead of asking until its timeout (the old behaviour, bounded here by timeout=20)."""
    with mlflow_stub("endless", upstream=mlflow_servers["production"].url) as srv:
        got = mlflow_collect(srv.url, timeout=20)
        searches = srv.count
    [u] = got.unobserved
    assert "experiments search: the server sent the same next-page token twice" in u.reason
    assert set(u.signals) >= ALL_PREFIXES
    assert searches <= 4  # /version, two search pages


def test_a_huge_runs_page_is_not_read(mlflow_servers, mlflow_stub, mlflow_collect) -> None:
    """A runs/search answer past max_response_bytes: runs are unknown, the registry is read."""
    with mlflow_stub("huge_runs", upstream=mlflow_servers["production"].url,
                     huge_bytes=8 * 1024 * 1024) as srv:
        got = mlflow_collect(srv.url, max_response_bytes=1024 * 1024)
    [u] = [u for u in got.unobserved if u.what.startswith("runs of")]
    assert "answer larger than 1 MiB; not read (max_response_bytes)" in u.reason
    assert "registry.model_version" in got.signals()  # the registry was still read
