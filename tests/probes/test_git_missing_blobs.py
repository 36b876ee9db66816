"""Missing blobs are never silent: a file whose content is not in the repository is named in
an unobserved line (and hides what its detectors could have shown), never dropped."""

from __future__ import annotations

from pathlib import Path

import git

from tests.repos import audit_repo, files_of, make_repo

FILES = {
    "Dockerfile": "FROM python:3.11-slim\n",
    "requirements.txt": "mlflow==2.16.0\n",
    "src/train.py": "import mlflow\nmlflow.start_run()\n",
    "notes.txt": "nothing to see\n",
}


def _drop_object(repo_path: Path, path: str) -> None:
    """Delete the loose object of ``path`` at HEAD (as in a damaged or partly copied repository)."""
    repo = git.Repo(repo_path)
    oid = repo.git.rev_parse(f"HEAD:{path}")
    (repo_path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    repo.close()


def test_a_missing_object_is_reported_with_its_path_and_the_rest_is_audited(tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    _drop_object(repo, "requirements.txt")
    _drop_object(repo, "notes.txt")
    evidence, unobserved = audit_repo(repo, tmp_path)
    missing = [u for u in unobserved if u.what == "missing blobs"]
    assert len(missing) == 1
    assert "2 file(s) have no content" in missing[0].reason
    assert "requirements.txt" in missing[0].reason and "notes.txt" in missing[0].reason
    assert "tool" in missing[0].signals and "env" in missing[0].signals  # what it could have shown
    assert files_of(evidence, "env.container_image") == {"Dockerfile"}
    assert files_of(evidence, "tool.experiment_tracking") == {"src/train.py"}


def test_a_partial_clone_whose_promisor_is_gone_names_the_files_it_could_not_read(tmp_path):
    origin = make_repo(tmp_path / "origin", FILES)
    git.Repo(origin).git.config("uploadpack.allowFilter", "true")
    clone = tmp_path / "clone.git"
    git.Repo.clone_from(origin.as_uri(), clone, bare=True, filter="blob:none", no_checkout=True)
    git.Repo(clone).git.config("remote.origin.url", (tmp_path / "gone").as_uri())
    evidence, unobserved = audit_repo(clone, tmp_path)
    reasons = {u.what: u.reason for u in unobserved}
    assert reasons["blobs"].startswith("cannot fetch file contents")
    for path in ("Dockerfile", "requirements.txt", "src/train.py"):
        assert path in reasons["missing blobs"]
    assert "python code" not in reasons  # the greps never try to fetch what is missing
    assert {e.signal for e in evidence} <= {"vcs.repository", "tempo.commits_per_week",
                                            "tempo.active_authors", "tempo.days_since_last_commit"}
