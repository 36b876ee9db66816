"""The git probe against a real git host (smart HTTP with basic auth): it never stores, erases
or reads the user's stored credentials, never prompts, and leaves no process or folder behind
on a timeout or on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.evidence import Evidence, Unobserved
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe
from probes.git.settings import GitSettings
from tests.servers._util import hanging_server
from tests.servers.git_http import GitHttp
from tests.support import marked_processes, terminate, wait_until

STORED = "Stored-7c1d0e-keychain-pass"


@pytest.fixture
def home(tmp_path, monkeypatch, git_http: GitHttp) -> Path:
    """A throwaway HOME whose git stores logins in plain text (``credential.helper = store``),
    holding one login for the test host, as on a CI runner."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    host = git_http.url.removeprefix("http://")
    (home / ".git-credentials").write_text(f"http://{git_http.user}:{STORED}@{host}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


def collect(tmp: Path, url: str, timeout: float = 60) -> tuple[list[Evidence], list[Unobserved]]:
    target = Target(name="t", kind="git", settings=GitSettings(url=url))
    out = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=tmp / "cache",
                                                       timeout=timeout)))
    return [e for e in out if isinstance(e, Evidence)], [u for u in out if isinstance(u, Unobserved)]


def test_a_password_in_the_url_is_used_and_never_stored(git_http, home, tmp_path):
    before = (home / ".git-credentials").read_text()
    url = git_http.repo_url(user=git_http.user, password=git_http.password)
    evidence, unobserved = collect(tmp_path, url)
    assert any(e.signal.startswith("schedule") or e.signal.startswith("ci") for e in evidence), \
        unobserved
    assert (home / ".git-credentials").read_text() == before  # nothing stored, nothing replaced
    assert git_http.password not in json.dumps([i.to_dict() for i in evidence + unobserved])


def test_a_refused_login_never_erases_the_stored_one(git_http, home, tmp_path):
    before = (home / ".git-credentials").read_text()
    url = git_http.repo_url(user=git_http.user, password="Wrong-password-4e2a")
    evidence, [u] = collect(tmp_path, url)
    assert evidence == [] and "\n" not in u.reason and u.signals
    assert "Wrong-password-4e2a" not in u.reason
    assert (home / ".git-credentials").read_text() == before


def test_the_stored_login_is_never_read_and_nobody_is_asked(git_http, home, tmp_path):
    """No helper, no prompt: a URL without credentials is refused with one line."""
    seen = len(git_http.requests)
    evidence, [u] = collect(tmp_path, git_http.repo_url())
    assert evidence == []
    assert "could not read Username" in u.reason and "prompts disabled" in u.reason
    assert not any(authorized for _, _, authorized in git_http.requests[seen:])


@pytest.mark.usefixtures("test_plugin")
def test_a_host_that_never_answers_costs_one_timeout_and_leaves_no_process(tmp_path, monkeypatch):
    """The clone is killed with its whole process group (``git-remote-http`` included); the
    link-resolution pass does not open the failed target again; no ``.clone-*`` remains."""
    from auditor.audit import run_audit
    from auditor.config import AuditConfig, build_target

    marker = f"MLA_TEST_MARKER_{os.getpid()}_hang"
    monkeypatch.setenv(marker, "1")
    accepted: list = []
    with hanging_server(accepted=accepted) as url:
        repo = build_target({"name": "repo", "kind": "git", "url": f"{url}/r.git", "timeout": 2})
        # a run elsewhere refers to a commit: the second pass asks git targets for it
        runs = build_target({"name": "runs", "kind": "facts", "facts": [
            {"signal": "tracking.runs_recent",
             "attributes": {"links_to": ["commit:" + "ab" * 20]}}]})
        a = run_audit(AuditConfig(targets=[repo, runs]), cache_dir=tmp_path / "cache")
        assert any(u["target"] == "repo" and "timed out" in u["reason"] for u in a["unobserved"])
        assert wait_until(lambda: not marked_processes(marker)), marked_processes(marker)
        assert len(accepted) == 1  # one connection: the failed target was not opened again
    # the abandoned probe's thread removes its folder once its git is gone
    assert wait_until(lambda: not list((tmp_path / "cache" / "git").glob(".clone-*")))


def test_sigterm_mid_clone_kills_git_cleans_up_and_exits_143(tmp_path):
    marker = f"MLA_TEST_MARKER_{os.getpid()}_term"
    out, cache = tmp_path / "out", tmp_path / "cache"
    history = out / "history"
    history.mkdir(parents=True)
    (history / "20240101T000000Z.json").write_text('{"earlier": "run"}')
    before = {p.name: p.read_bytes() for p in history.iterdir()}
    env = {**os.environ, marker: "1"}
    with hanging_server() as url:
        config = tmp_path / "audit.yaml"
        config.write_text(f"targets:\n  - {{name: repo, kind: git, url: '{url}/r.git'}}\n")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from auditor.cli import main; main()", "audit", "-q",
             "--config", str(config), "--out", str(out), "--cache-dir", str(cache)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[2])
        started = wait_until(lambda: list((cache / "git").glob(".clone-*"))
                              and len(marked_processes(marker)) >= 3)  # python, git, git-remote-http
        err = terminate(proc)
        assert started, err or "no clone"
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert err.count("\n") == 1 and "SIGTERM" in err
        assert wait_until(lambda: not marked_processes(marker)), marked_processes(marker)
    assert not list((cache / "git").glob(".clone-*"))
    assert {p.name: p.read_bytes() for p in history.iterdir()} == before
