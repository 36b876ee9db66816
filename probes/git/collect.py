"""One audit of one repository: open it, list the tree once, run the declared detectors.

What is read derives from the detectors' declarations (:mod:`probes.git.declare`): the files
that may matter, the blobs a partial clone fetches, the shared content grep, the roles each
detector is shown and the order they run in. Evidence from a file whose role may not establish
its signal (a feature store in a test fixture, a permission sample under ``docs/``) is dropped
here, in one place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from auditor.evidence import Evidence, Strength, Unobserved
from auditor.probe import ProbeCancelled, ProbeContext, Target
from probes.git import detect, history, in_process
from probes.git.declare import Detector, Files, glob_matcher
from probes.git.detect import code
from probes.git.gitcmd import BlobReader, Git, GitError
from probes.git.roles import may_establish, role_of
from probes.git.scan import Scan, pathspec
from probes.git.settings import GitSettings
from probes.git.source import EmptyRepository, Repo, SourceError, open_repository
from probes.git.tree import (
    SUBMODULE,
    SYMLINK,
    fill_sizes,
    list_tree,
    missing_blobs,
    prefetch,
    resolve_symlink,
)

MAX_LISTED = 20  # missing paths named in one unobserved line
MAX_EXCLUDED = 5000  # missing paths kept out of the greps (beyond: the grep reports the failure)


def collect(target: Target, ctx: ProbeContext, all_signals: tuple[str, ...],
            on_open: Callable[[Repo], None] | None = None) -> Iterator[Evidence | Unobserved]:
    """``on_open`` is handed the repository once it is open (the probe lists its commits)."""
    settings: GitSettings = target.settings
    try:
        repo = open_repository(settings, ctx)
        if on_open is not None:
            on_open(repo)
    except EmptyRepository as exc:
        yield ctx.unobserved(target, what=f"ref {settings.ref}", reason=str(exc))
        return
    except (SourceError, GitError) as exc:
        yield ctx.unobserved(target, what=settings.url or settings.path or target.name,
                             reason=str(exc), signals=all_signals)
        return
    for note in repo.notes:
        yield ctx.unobserved(target, what="fetch", reason=note)
    plan = detect.detectors()
    wanted = Files.union(d.files for d in plan)
    shared = Files.union(d.files for d in plan if d.files.grep and not d.own_grep)
    # The git grep and the history only need the commit: they start now and run while the tree
    # is listed and the small files are read. (In a partial clone the grep waits for the blob
    # prefetch, or git would fetch every blob it searches one by one.)
    # A repository open in this process (``repo.local``) is read without git; each read the
    # in-process reader declines (it returns None) is git's, as for any other repository.
    local = repo.local
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="git-read")
    log_text = in_process.read_log(local, settings.max_commits) if local else None
    log: Callable[[], str] = (
        (lambda: log_text) if log_text is not None
        else pool.submit(history.read_log, repo, settings.max_commits, settings.subdir).result)
    grep: Future[Greps] | None = None
    if not repo.partial and local is None:
        grep = _start_grep(pool, repo, repo.git, settings.subdir, shared)
    try:
        tree = in_process.list_tree(local) if local else None
        if tree is None:
            tree = list_tree(repo.git, repo.head, settings.subdir, with_sizes=not repo.partial)
    except GitError as exc:
        yield ctx.unobserved(target, what="tree", reason=f"cannot list the tree: {exc}",
                             signals=all_signals)
        pool.shutdown(wait=False)
        return
    if settings.subdir and not len(tree):
        yield ctx.unobserved(target, what=f"subdir {settings.subdir}",
                             reason="no files under this directory at the audited ref",
                             signals=[s for s in all_signals if s not in ("vcs", "tempo")])
    reader = in_process.Reader(local) if local else BlobReader(repo.git)
    try:
        grep_git = repo.git
        if repo.partial:
            grep_git = yield from _fetch_blobs(target, ctx, repo, tree, wanted, plan)
        if tree.missing:
            yield _missing_note(target, ctx, tree.missing, plan)
        scan = Scan(target=target, ctx=ctx, repo=repo, tree=tree, reader=reader,
                    max_file_bytes=settings.max_file_bytes, subdir=settings.subdir,
                    max_commits=settings.max_commits, wanted=wanted, plan=plan)
        scan.facts["log"] = log
        if scan.interesting:  # files will be read: cat-file starts while the history is read
            reader.start()
        if grep is None and local:
            found = in_process.grep(local, tree, _search(shared))
            if found is not None:
                grep = Future()
                grep.set_result(Greps(*found))
        if grep is None:
            grep = _start_grep(pool, repo, grep_git, settings.subdir, shared,
                               exclude=tree.missing if repo.partial else ())
        pool.shutdown(wait=False)
        done = grep
        scan.facts["code_grep"] = lambda: done.result().code
        yield from _links_and_modules(scan)
        shared_grep_done = False
        for detector in plan:
            if detector.files.grep and not detector.own_grep and not shared_grep_done:
                shared_grep_done = True
                try:
                    scan.grep_lines = _grep_lines(scan, grep.result().config)
                except GitError as exc:
                    yield ctx.unobserved(target, what="configuration files",
                                         reason=f"git grep failed: {exc}",
                                         signals=tuple(s for d in plan if d.files.grep for s in d.signals))
            yield from _run(scan, detector)
        yield from scan.summary_note()
    finally:
        reader.close()


def _run(scan: Scan, detector: Detector) -> Iterator[Evidence | Unobserved]:
    """One detector; a broken area becomes unobserved and the others go on."""
    target, ctx = scan.target, scan.ctx
    scan.active = detector
    undeclared: set[str] = set()
    try:
        for item in detector.run(scan):
            if isinstance(item, Evidence):
                if not item.signal.startswith(detector.signals):
                    undeclared.add(item.signal)  # the declaration is the contract
                    continue
                if not _allowed(item):
                    continue
            yield item
            yield from scan.drain()
    except ProbeCancelled:
        raise
    except GitError as exc:
        yield ctx.unobserved(target, what=detector.area, reason=str(exc), signals=detector.signals)
    except Exception as exc:  # one broken area must not hide the others
        yield ctx.unobserved(target, what=detector.area, reason=f"{type(exc).__name__}: {exc}",
                             signals=detector.signals)
    finally:
        scan.active = None
    if undeclared:
        yield ctx.unobserved(target, what=detector.area,
                             reason=f"emitted signals it does not declare: {', '.join(sorted(undeclared))}")
    yield from scan.drain()
    ctx.check()


def _allowed(ev: Evidence) -> bool:
    role = ev.attributes.get("role")
    return role is None or may_establish(role, ev.signal)


@dataclass(frozen=True, slots=True)
class Greps:
    """What the one ``git grep`` found, in the form each reader takes: ``code`` as ``-l``
    prints it (the files importing a known tool), ``config`` as ``-n`` prints it (the lines
    of the detectors' declared content patterns)."""

    code: bytes
    config: bytes


def _start_grep(pool: ThreadPoolExecutor, repo: Repo, git: Git, subdir: str | None,
                shared: Files, exclude: Sequence[str] = ()) -> Future[Greps]:
    view = repo if git is repo.git else Repo(git=git, head=repo.head, ref=repo.ref,
                                              display=repo.display, partial=repo.partial)
    return pool.submit(_grep, view, subdir, shared, list(exclude)[:MAX_EXCLUDED])


#: one record of ``git grep -n --null``: path, line number, text (a path holds no NUL, a
#: line no newline)
_RECORD = re.compile(rb"([^\0]*)\0(\d+)\0([^\n]*)\n")


def _search(shared: Files) -> in_process.Search:
    """:func:`_grep`'s search, for the in-process reader (built once per set of patterns)."""
    return _search_for(code.import_pattern(), tuple(shared.grep or ()),
                       tuple(shared.grep_globs if shared.grep else ()))


@functools.lru_cache(maxsize=8)
def _search_for(imports: str, patterns: tuple[str, ...], config_globs: tuple[str, ...]
                ) -> in_process.Search:
    joined = b"|".join(b"(?:%s)" % p.encode() for p in (imports, *patterns))
    return in_process.Search(code=code.import_regex(), code_words=code.import_words(),
                             any_pattern=re.compile(joined, re.M), code_globs=code.CODE_GLOBS,
                             config_globs=config_globs)


def _grep(repo: Repo, subdir: str | None, shared: Files, exclude: Sequence[str] = ()) -> Greps:
    """One ``git grep -n`` over the tree for both searches: imports of known tools in Python
    code and notebooks (:func:`code.import_pattern`), and every detector's declared content
    patterns in its files (manifests, rule files, CloudFormation, content-recognised CI, CDK
    apps; each detector then keeps the lines that match its own patterns). Each file is given
    to the search whose globs it matches; a code file counts when one of its lines matches the
    import pattern (checked again here: a config pattern may match a line of code)."""
    code_specs = pathspec(subdir, *code.CODE_GLOBS)[1:]
    config_specs = pathspec(subdir, *shared.grep_globs)[1:] if shared.grep else []
    patterns = [code.import_pattern(), *(shared.grep if shared.grep else ())]
    # one thread: a grep of a tree (not of the work tree) reads objects under one lock, so
    # more threads cost CPU and gain nothing (20,000 files: 98 ms of CPU against 132 ms)
    args = ["-n", "-I", "--null", "--full-name", "--no-color", "--threads", "1"]
    for p in patterns:
        args += ["-e", p]
    tail = [repo.head, *pathspec(subdir, *code.CODE_GLOBS,
                                 *(shared.grep_globs if shared.grep else ()), exclude=exclude)]
    try:
        out = repo.git.run("grep", *args, "-P", *tail, ok_codes=(0, 1))
    except GitError as exc:  # git built without PCRE: the (slower) POSIX engine
        if "perl" not in str(exc).lower() and "pcre" not in str(exc).lower():
            raise
        out = repo.git.run("grep", *args, "-E", *tail, ok_codes=(0, 1))
    imports = code.import_regex()
    prefix = len(repo.head) + 1
    is_code, is_config = glob_matcher(code_specs), glob_matcher(config_specs)
    kind: dict[bytes, tuple[bool, bool]] = {}
    code_files: dict[bytes, None] = {}
    config: list[bytes] = []
    for record in _RECORD.finditer(out):
        path = record[1]
        sides = kind.get(path)
        if sides is None:
            rel = path[prefix:].decode("utf-8", "surrogateescape")
            sides = kind[path] = (is_code(rel) is not None, is_config(rel) is not None)
        if sides[0] and path not in code_files and imports.search(record[3]):
            code_files[path] = None
        if sides[1]:
            config.append(record[0])
    return Greps(code=b"".join(p + b"\0" for p in code_files), config=b"".join(config))


def _grep_lines(scan: Scan, out: bytes) -> dict[str, list[tuple[int, str]]]:
    prefix = scan.repo.head + ":"
    lines: dict[str, list[tuple[int, str]]] = {}
    for record in _RECORD.finditer(out):  # a path may hold a newline, never a NUL
        path = record[1].decode("utf-8", "surrogateescape").removeprefix(prefix)
        entry = scan.tree.get(path)
        if entry is None or entry.mode == SYMLINK or path in scan.tree.missing:
            continue
        lines.setdefault(path, []).append((int(record[2]), record[3].decode("utf-8", "replace")))
    return lines


def _fetch_blobs(target: Target, ctx: ProbeContext, repo: Repo, tree, wanted: Files,
                 plan: list[Detector]):
    """Partial clone: fetch the blobs detectors may read in one request. Blobs that stay
    missing are listed in the tree (and reported); the greps then run without lazy fetching.
    Returns the git to grep with."""
    globs = tuple(g.removeprefix("*") for d in plan for g in d.files.grep_globs)
    entries = [tree[p] for p in tree.blob_paths()
               if wanted.matches(p.lower()) or p.lower().endswith(globs)]
    missing = missing_blobs(repo.git, repo.head)
    try:
        prefetch(repo.git, [e.oid for e in entries if e.oid in missing])
        still = set()
    except GitError as exc:
        yield ctx.unobserved(target, what="blobs", reason=f"cannot fetch file contents: {exc}")
        still = missing
    present = [e for e in entries if e.oid not in still]
    if still:
        tree.missing.extend(e.path for e in entries if e.oid in still)
    try:
        fill_sizes(no_lazy_fetch(repo) if still else repo.git, present)
    except GitError as exc:
        yield ctx.unobserved(target, what="blobs", reason=f"cannot read file sizes: {exc}")
    return no_lazy_fetch(repo) if still else repo.git


def no_lazy_fetch(repo: Repo) -> Git:
    """The repository's git with the promisor switched off: a missing object is reported
    missing instead of being fetched one by one (or failing the whole command)."""
    git = Git(repo.git.dir, repo.git.remaining, extra_config=[("remote.origin.promisor", "false"),
                                                              ("extensions.partialClone", "")])
    git.env.update({k: v for k, v in repo.git.env.items() if k.startswith("GIT_CONFIG_")
                    and k not in git.env})
    return git


def _missing_note(target: Target, ctx: ProbeContext, paths: list[str], plan: list[Detector]
                  ) -> Unobserved:
    """Files whose content is not in the repository: named, never dropped. A missing file a
    detector declares hides what that detector could have seen."""
    signals: set[str] = set()
    for path in paths:
        low = path.lower()
        for d in plan:
            if d.files.matches(low) or low.endswith(tuple(g.removeprefix("*") for g in d.files.grep_globs)):
                role = role_of(path)
                signals |= {s for s in d.signals if may_establish(role, s + ".")}
    shown = ", ".join(sorted(paths)[:MAX_LISTED])
    more = f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
    return ctx.unobserved(target, what="missing blobs",
                          reason=f"{len(paths)} file(s) have no content in the repository "
                                 f"(missing objects): {shown}{more}",
                          signals=sorted(signals))


def _links_and_modules(scan: Scan) -> Iterator[Unobserved]:
    """Symlinks are never followed; those pointing outside the repository are noted."""
    subs = 0
    for entry in scan.tree.special():
        if entry.mode == SYMLINK:
            if resolve_symlink(entry, scan.reader) is None:
                scan.note(entry.path, "symlink points outside the repository; not followed")
        elif entry.mode == SUBMODULE:
            subs += 1
    if subs:
        scan.pending.append(scan.ctx.unobserved(scan.target, what="submodules",
                                                reason=f"{subs} submodule(s) not audited"))
    yield from scan.drain()


__all__ = ["collect", "Strength"]
