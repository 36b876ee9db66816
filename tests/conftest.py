"""Shared fixtures. Server fixtures live in tests/servers/ (one module per server) and are
loaded here as plugins so each server starts once per test session.

Every test that needs a real server process (mlflow, moto, docker-registry, Prometheus and
Alertmanager) or a browser is marked ``slow`` here, from the fixtures it uses, so that
``pytest -m "not slow"`` is a fast inner loop and the full suite still runs everything. A
server binary is looked for next to the running Python and on PATH; with
``MLOPS_AUDITOR_REQUIRE_SERVERS=1`` (set by .ci/run) a missing one fails instead of skipping."""

from __future__ import annotations

import pkgutil
from pathlib import Path

pytest_plugins = sorted(
    f"tests.servers.{m.name}"
    for m in pkgutil.iter_modules([str(Path(__file__).parent / "servers")])
    if not m.name.startswith("_")
)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def test_plugin(tmp_path_factory):
    """Installs the test probes (kinds ``facts`` and ``hang``) as a real entry-point plugin."""
    from tests.support import install_plugin

    install_plugin(tmp_path_factory.mktemp("plugin"))
    yield


#: fixtures that start a real server process (directly or through another fixture)
SERVER_FIXTURES = frozenset({"moto_server", "moto_auth_server", "mlflow_servers", "dask_cluster",
                             "oci_registry", "prometheus_stack"})
#: test modules that drive a browser or real servers without a fixture
SLOW_MODULES = frozenset({"test_html.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
