"""Shared fixtures. Server fixtures live in tests/servers/ (one module per server) and are
loaded here as plugins so each server starts once per test session."""

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
