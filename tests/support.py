"""Test-only probes, installed as a real plugin: a dist-info folder with an entry_points.txt
on sys.path, discovered through importlib.metadata like any third-party package."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from auditor import registry
from auditor.evidence import Evidence, Strength
from auditor.probe import Probe, Settings


class FakeSettings(Settings):
    facts: list[dict] = []
    sleep: float = 0.0
    fail: str | None = None
    #: kill the process running the probe (SIGKILL, as the OOM killer does): ``always``,
    #: ``once:<marker path>`` (only while the marker file does not exist yet), or ``stop``
    #: (SIGSTOP: the process hangs whole, timeouts inside it never fire)
    crash: str | None = None


class FactsProbe(Probe):
    """Reports the facts written in its target settings; can sleep or fail on demand."""

    kind = "facts"
    project = True  # stands for a repository: each target gets a placement
    observes = ("*",)  # what its settings do not list, it does not have
    signals = ("*",)
    settings_model = FakeSettings
    description = "test probe"

    def collect(self, target, ctx):
        s = target.settings
        for fact in s.facts:
            yield Evidence(signal=fact["signal"], strength=Strength.parse(fact.get("strength", "configured")),
                           target=target.name, locator=fact.get("locator", f"facts://{target.name}/{fact['signal']}"),
                           attributes=fact.get("attributes", {}), excerpt=fact.get("excerpt", ""))
        if s.crash:
            crash(s.crash)
        deadline = time.monotonic() + s.sleep
        while time.monotonic() < deadline:
            time.sleep(0.02)
            ctx.check()
        if s.fail:
            raise RuntimeError(s.fail)


def crash(how: str) -> None:
    if how.startswith("once:"):
        marker = Path(how.removeprefix("once:"))
        if marker.exists():
            return
        marker.write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGSTOP if how == "stop" else signal.SIGKILL)


class HangingProbe(Probe):
    """Ignores its timeout entirely (a call with no timeout): the runner must abandon it."""

    kind = "hang"
    signals = ("serving",)
    description = "test probe that never returns"

    def collect(self, target, ctx):
        yield Evidence(signal="serving.deployment", strength=Strength.CONFIGURED, target=target.name,
                       locator=f"hang://{target.name}")
        time.sleep(3600)


def install_plugin(tmp: Path) -> None:
    """Make tests.support's probes discoverable through the entry-point group."""
    dist = tmp / "mlops_auditor_testplugin-1.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mlops-auditor-testplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [mlops_auditor.probes]
        facts = tests.support:FactsProbe
        hang = tests.support:HangingProbe
        """))
    if str(tmp) not in sys.path:
        sys.path.append(str(tmp))
    registry._load_group.cache_clear()


def marked_processes(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (children of a test's audit:
    workers, git, git-remote-http)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (marker.encode() in (entry / "environ").read_bytes()
                    and "State:\tZ" not in (entry / "status").read_text()):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_until(condition, limit: float = 20.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def terminate(proc) -> str:
    """SIGTERM to a running audit, as a scheduler stopping it would send; its stderr once it
    ended (killed if it would not within 30 s)."""
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err.decode()


def traced_peak(work: Callable[[], object]) -> int:
    """The most memory ``work()`` held at once through Python's allocators (tracemalloc), in
    bytes: what a memory test compares with what holding everything takes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
