"""History, bounded to the newest N commits: repository activity, release tags and tempo."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from auditor.evidence import Evidence, Strength
from probes.git.declare import Detector
from probes.git.gitcmd import GitError
from probes.git.scan import Scan
from probes.git.source import Repo, split_credentials

WINDOW_DAYS = 90
TAG_WINDOW_DAYS = 180
#: hashed author identities kept per repository (tempo counts a person once across repositories)
MAX_IDENTITIES = 1000


def read_log(repo: Repo, max_commits: int, subdir: str | None) -> str:
    """``git log`` of the newest ``max_commits`` (only the commit is needed: the collector
    starts it as soon as the repository is open)."""
    args = ["log", "-n", str(max_commits), "--no-show-signature", "--format=%H%x1f%ct%x1f%ae",
            repo.head]
    if subdir:
        args += ["--", subdir.strip("/")]
    return repo.git.text(*args)


def detect(scan: Scan, max_commits: int, subdir: str | None) -> Iterator[Evidence]:
    head = scan.repo.head
    started: Callable[[], str] | None = scan.facts.get("log")
    out = started() if started else read_log(scan.repo, max_commits, subdir)
    rows = []
    for line in out.splitlines():
        parts = line.split("\x1f")
        if len(parts) == 3 and parts[1].isdigit():
            rows.append((parts[0], int(parts[1]), parts[2].lower()))
    now = scan.ctx.now.timestamp()
    recent = [r for r in rows if now - r[1] <= WINDOW_DAYS * 86400]
    last = max((r[1] for r in rows), default=None)
    truncated = len(rows) >= max_commits
    strength = Strength.OPERATING if recent else Strength.CONFIGURED
    yield scan.ev("vcs.repository", strength, "", None, tool="git", head=head, ref=scan.repo.ref,
                  commits_sampled=len(rows), commits_last_90_days=len(recent), truncated=truncated,
                  last_commit=_iso(last) if last else None, remote=_remote(scan))
    yield scan.ev("tempo.commits_per_week", Strength.OPERATING if recent else Strength.CONFIGURED,
                  "", None, value=round(len(recent) / (WINDOW_DAYS / 7), 2), unit="per_week",
                  window_days=WINDOW_DAYS, lower_bound=truncated and len(recent) == len(rows))
    authors = {r[2] for r in recent}
    yield scan.ev("tempo.active_authors", strength, "", None,
                  value=len(authors), unit="count", window_days=WINDOW_DAYS,
                  identities=sorted(_identity(a) for a in authors)[:MAX_IDENTITIES])
    if last is not None:
        yield scan.ev("tempo.days_since_last_commit", strength, "", None,
                      value=round(max(0.0, now - last) / 86400, 1), unit="days")
    yield from _tags(scan, now)


def _tags(scan: Scan, now: float) -> Iterator[Evidence]:
    if scan.repo.tags == 0:  # counted when the repository was opened: nothing to list
        return
    out = scan.repo.git.text("for-each-ref", "--sort=-creatordate",
                             "--format=%(refname:short)%1f%(creatordate:unix)", "refs/tags")
    tags = []
    for line in out.splitlines():
        name, _, ts = line.partition("\x1f")
        if name and ts.strip().isdigit():
            tags.append((name, int(ts)))
    if not tags:
        return
    recent = [t for t in tags if now - t[1] <= TAG_WINDOW_DAYS * 86400]
    latest = tags[0]
    yield scan.ev("vcs.release_tags", Strength.CONFIGURED, f"refs/tags/{latest[0]}", None,
                  tool="git", count=len(tags), latest=latest[0], latest_date=_iso(latest[1]))
    yield scan.ev("tempo.tags_per_month", Strength.OPERATING if recent else Strength.CONFIGURED,
                  "", None, value=round(len(recent) / (TAG_WINDOW_DAYS / 30), 2), unit="per_month",
                  window_days=TAG_WINDOW_DAYS)


def _identity(email: str) -> str:
    """A person across repositories, without their address in the report."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _remote(scan: Scan) -> str | None:
    """Where the repository lives, for links to its files: the clone URL of a URL target,
    else the ``origin`` remote of a local repository (credentials removed)."""
    if not scan.repo.display.startswith("file:"):
        return scan.repo.display
    url = scan.repo.origin  # read when the repository was opened
    if url is None:
        try:
            url = scan.repo.git.text("config", "--get", "remote.origin.url", check=False).strip()
        except GitError:
            return None
    return split_credentials(url)[1] if url else None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


DETECTOR = Detector(
    area="history", signals=("vcs", "tempo"),
    run=lambda scan: detect(scan, scan.max_commits, scan.subdir))
