"""The contract every registered probe keeps, checked over each one the entry points name.

- importing it is cheap (no heavy client library at import time);
- its settings reject unknown keys;
- an unreachable source gives ``Unobserved`` with a one-line reason that hides its signals,
  never an exception and never evidence of absence;
- against a real source, every signal it emits is within the prefixes it declares, it sends
  no write (only GET/HEAD, searches and List/Describe/Get operations), it leaves a local
  source unchanged, and the same source read twice gives the same evidence.

A new probe gets a row in ``UNREACHABLE`` and ``REACHABLE`` below (docs/CONTRIBUTING.md);
a registered kind without one fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config import ConfigError, build_target
from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext
from auditor.registry import load_value, scan
from auditor.signals import matches
from tests.servers._util import free_port

ROOT = Path(__file__).parents[1]
REGISTERED = dict(scan("mlops_auditor.probes"))
#: modules no probe may import before it runs (Probe.prepare imports them)
HEAVY = ("mlflow", "boto3", "botocore", "kubernetes", "requests", "urllib3", "git", "google")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
#: a POST or API operation that only reads
READ_ONLY = re.compile(r"(/search$|(^|:)(List|Describe|Get|Search|BatchGet|Lookup)[A-Za-z]*$)")


def _closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def _kubeconfig(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{_closed_url()}"}}}}]
users: [{{name: u, user: {{token: contract-token-0000}}}}]
contexts: [{{name: gone, context: {{cluster: c, user: u}}}}]
current-context: gone
""")
    return {"kubeconfig": str(path), "context": "gone"}


#: kind -> settings pointing at a source that is not there
UNREACHABLE: dict[str, Callable[[Path], dict[str, Any]]] = {
    "git": lambda tmp: {"path": str(tmp / "no-such-repository")},
    "mlflow": lambda tmp: {"tracking_uri": _closed_url(), "max_retries": 0},
    "aws": lambda tmp: {"endpoint_url": _closed_url(), "regions": ["eu-west-1"], "max_attempts": 1},
    "kubernetes": _kubeconfig,
    "oci": lambda tmp: {"url": _closed_url()},
    "prometheus": lambda tmp: {"url": _closed_url()},
}


def _git(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    from tests.repos import make_stage2_repo

    return {"path": str(make_stage2_repo(tmp / "repo"))}


def _kubernetes(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    from tests.servers.kubernetes import write_snapshot
    from tests.servers.kubernetes_manifests import manifests

    return {"snapshot": str(write_snapshot(tmp / "export", manifests()))}


def _mlflow(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    return {"tracking_uri": request.getfixturevalue("mlflow_servers")["production"].url}


def _aws(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    return {"endpoint_url": request.getfixturevalue("moto_url"), "regions": ["eu-west-1"],
            "max_attempts": 1}


def _oci(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    return {"url": request.getfixturevalue("oci_registry").url, "repositories": ["ml/*"]}


def _prometheus(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    from tests.servers.prometheus import PROM_PASSWORD, PROM_USER

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("CONTRACT_PROM_USER", PROM_USER)
    monkeypatch.setenv("CONTRACT_PROM_PASSWORD", PROM_PASSWORD)
    stack = request.getfixturevalue("prometheus_stack")
    return {"url": stack.url, "username_env": "CONTRACT_PROM_USER",
            "password_env": "CONTRACT_PROM_PASSWORD"}


#: kind -> (settings of a real source, whether two reads must give the same evidence: a
#: live Prometheus moves between two reads — scrapes, evaluations — so it is not compared)
REACHABLE: dict[str, tuple[Callable[[pytest.FixtureRequest, Path], dict[str, Any]], bool]] = {
    "git": (_git, True),
    "kubernetes": (_kubernetes, True),
    "mlflow": (_mlflow, True),
    "aws": (_aws, True),
    "oci": (_oci, True),
    "prometheus": (_prometheus, False),
}


def _probe(kind: str) -> Any:
    return load_value(REGISTERED[kind])()


def _run(kind: str, settings: dict[str, Any], tmp: Path,
         timeout: float = 60.0) -> tuple[list[Evidence], list[Unobserved], ProbeContext]:
    target = build_target({"name": f"contract-{kind}", "kind": kind, **settings})
    probe = _probe(kind)
    probe.prepare()
    ctx = ProbeContext(probe=kind, cache_dir=tmp / "cache", timeout=timeout, now=NOW)
    items = list(probe.collect(target, ctx))
    return ([i for i in items if isinstance(i, Evidence)],
            [i for i in items if isinstance(i, Unobserved)], ctx)


def _tree(path: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file below ``path`` (a local source)."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(path.rglob("*")) if p.is_file()}


KINDS = sorted(REGISTERED)


def test_the_built_in_probes_are_registered():
    assert {"git", "mlflow", "aws", "kubernetes", "oci", "prometheus"} <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_import_is_cheap(kind):
    module = REGISTERED[kind].partition(":")[0]
    code = (f"import sys, {module}; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]", f"importing {module} pulls {out}: import them in Probe.prepare()"


@pytest.mark.parametrize("kind", KINDS)
def test_settings_reject_unknown_keys(kind, tmp_path):
    assert kind in UNREACHABLE, f"add an unreachable example of kind {kind} to UNREACHABLE"
    good = {"name": "t", "kind": kind, **UNREACHABLE[kind](tmp_path)}
    build_target(good)
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({**good, "no_such_setting": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_source_is_unobserved_with_a_one_line_reason(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACONTRACT00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "contract-fake-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    evidence, unobserved, _ = _run(kind, UNREACHABLE[kind](tmp_path), tmp_path, timeout=30)
    assert evidence == [], "nothing was seen, so nothing may be claimed"
    assert unobserved, "an unreachable source must be reported as not observed"
    hiding = [u for u in unobserved if u.signals]
    assert hiding, "what could not be seen must make its capabilities unknown"
    for u in hiding:
        assert u.reason and "\n" not in u.reason and "Traceback" not in u.reason
        assert len(u.reason) <= 300


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_real_source_is_read_only_within_the_declared_signals(kind, request, tmp_path):
    assert kind in REACHABLE, f"add a real source of kind {kind} to REACHABLE"
    make, deterministic = REACHABLE[kind]
    settings = make(request, tmp_path)
    local = Path(settings.get("path") or settings.get("snapshot") or tmp_path / "none")
    before = _tree(local) if local.exists() else {}
    evidence, unobserved, ctx = _run(kind, settings, tmp_path)
    assert evidence, f"{kind}: a real source gave no evidence ({[u.reason for u in unobserved]})"
    declared = _probe(kind).signals
    outside = sorted({e.signal for e in evidence
                      if not any(matches(p, e.signal) or matches(p + ".*", e.signal)
                                 for p in declared)})
    assert outside == [], f"{kind} emits signals it does not declare: {outside}"
    writes = [(m, p) for m, p in ctx.requests.entries
              if m not in ("GET", "HEAD") and not READ_ONLY.search(p)]
    assert writes == [], f"{kind} sent requests that may write: {writes[:5]}"
    if local.exists():
        assert _tree(local) == before, "the audited folder changed"
    if deterministic:
        again, _, _ = _run(kind, settings, tmp_path)
        assert sorted(e.id for e in again) == sorted(e.id for e in evidence)


def test_every_probe_kind_has_contract_examples_and_no_stale_ones():
    missing = sorted(set(KINDS) - set(UNREACHABLE) | set(KINDS) - set(REACHABLE))
    assert missing == [], f"give these kinds contract examples: {missing}"
    assert set(UNREACHABLE) | set(REACHABLE) <= set(KINDS)
