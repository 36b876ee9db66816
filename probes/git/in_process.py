"""Reading a local repository in this process, through libgit2 (pygit2): no git process per read.

A fleet of small repositories spends most of its time starting git: six processes per
repository at about 2 ms of CPU each, against about 7 ms of Python for everything else. Read
here, the same repository costs no process at all. The git command stays the reference:
this reader answers exactly what the commands would (the tests compare the evidence of both
over real repositories), and hands each read it cannot answer that way back to git:

- used only for a local, non-partial repository audited whole (no ``subdir``), at ``HEAD``, a
  full ref name or a full commit name (git's other revision syntax is git's to read);
- a history longer than ``max_commits`` is read by ``git log`` (which commits come first is
  git's order, not libgit2's); a tree with more than :data:`MAX_GREP_FILES` candidate files,
  or more bytes than :data:`MAX_GREP_COST` allows, is searched by ``git grep`` (faster there);
- any libgit2 error on opening falls back to the git command for the whole repository, whose
  messages the user sees; a missing object in the tree does too.

pygit2 is imported on first use (about 45 ms), so the probe uses this reader for fleets
(:data:`FLEET` targets or more, or ``reader: in-process``) and not for a one-repository run,
where starting six gits costs less than the import.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probes.git.declare import glob_matcher
from probes.git.tree import SUBMODULE, Tree

#: targets of the git probe in one run from which ``reader: auto`` reads in-process
FLEET = 10
#: candidate files and bytes above which the content search is left to ``git grep``
MAX_GREP_FILES = 2000
#: searched here, code costs about 9 ns a byte (only lines holding an import word are tried)
#: and configuration about 60 (the patterns are tried at every position), against a few ms
#: for a git grep process: past this many bytes of code, or an eighth as many of
#: configuration (about 20 ms), git grep searches instead
MAX_GREP_COST = 2 * 1024 * 1024
CONFIG_WEIGHT = 8
#: git's binary test (``buffer_is_binary``): a NUL in the first 8,000 bytes
BINARY_PROBE = 8000

_REF = re.compile(r"HEAD|refs/[^\s~^:?*\[\\]+|[0-9a-f]{40}")
_REGULAR = ("100644", "100755")

_lock = threading.Lock()
_pygit2: Any = None
_loaded = False


def _library() -> Any:
    """pygit2, imported once (under a lock: probes run on threads) and set to read as the
    git command does here: any owner (``safe.directory=*``), no user or system configuration.
    None when it is not installed."""
    global _pygit2, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            try:
                import pygit2
                from pygit2.enums import ConfigLevel
            except ImportError:
                return None
            pygit2.settings.owner_validation = False
            for level in (ConfigLevel.SYSTEM, ConfigLevel.XDG, ConfigLevel.GLOBAL,
                          ConfigLevel.PROGRAMDATA):
                pygit2.settings.search_path[level] = ""
            _pygit2 = pygit2
        return _pygit2


@dataclass
class Local:
    """A repository open in this process, at one commit."""

    repo: Any  # pygit2.Repository
    head: str
    bare: bool
    git_dir: str
    tags: int
    origin: str


def open_local(path: Path, ref: str) -> Local | None:
    """``path`` (the top of a work tree, or a bare repository) open at ``ref``; None when the
    git command should open it (not a repository at exactly this path, an unsupported ref,
    an empty one, a partial clone, or pygit2 missing)."""
    lib = _library()
    if lib is None or not _REF.fullmatch(ref):
        return None
    try:
        repo = lib.Repository(str(path), lib.enums.RepositoryOpenFlag.NO_SEARCH)
        if not repo.is_bare and Path(repo.workdir).resolve() != path:
            return None  # the git dir itself, or a folder git would not call the top
        config = repo.config
        if _last(config, "remote.origin.promisor").strip():
            return None  # a partial clone: blobs may be missing, the git command fetches them
        names = list(repo.references)
        if any(n.startswith("refs/replace/") for n in names) or Path(repo.path, "info", "grafts").exists():
            return None  # git log shows replaced history; libgit2 does not
        head = repo.revparse_single(f"{ref}^{{commit}}")
        tags = sum(1 for name in names if name.startswith("refs/tags/"))
        return Local(repo=repo, head=str(head.id), bare=repo.is_bare,
                     git_dir=str(Path(repo.path).resolve()), tags=tags,
                     origin=_last(config, "remote.origin.url").strip())
    except (lib.GitError, KeyError, ValueError, OSError):
        return None


def _last(config: Any, key: str) -> str:
    """The last value of ``key``, as ``git config --get`` answers (empty when unset)."""
    try:
        values = list(config.get_multivar(key))
    except Exception:  # noqa: BLE001 - an unreadable value is an unset one, as for git
        return ""
    return values[-1] if values else ""


def list_tree(local: Local) -> Tree | None:
    """Every file at the commit with its mode, object name and size, in ``git ls-tree -r -l``
    order; None when an object is missing (``git ls-tree`` then says what)."""
    lib = _library()
    repo, odb = local.repo, local.repo.odb
    rows: dict[str, tuple[str, str, int | None]] = {}
    missing: list[str] = []

    def walk(tree: Any, prefix: str) -> None:
        for entry in tree:
            path = prefix + entry.raw_name.decode("utf-8", "surrogateescape")
            mode = f"{entry.filemode:06o}"
            if mode == "040000":
                walk(repo[entry.id], path + "/")
                continue
            size: int | None = None
            if mode != SUBMODULE:
                try:
                    size = odb.read_header(entry.id)[1]
                except KeyError:
                    missing.append(path)  # ls-tree -l prints BAD: kept, reported missing
            rows[path] = (mode, str(entry.id), size)

    try:
        walk(repo.revparse_single(local.head).tree, "")
    except (lib.GitError, KeyError, ValueError):
        return None
    return Tree(rows, missing=missing)


class Reader:
    """Blobs read from the object database (the in-process :class:`~probes.git.gitcmd.BlobReader`)."""

    def __init__(self, local: Local) -> None:
        self.repo = local.repo
        self.odb = local.repo.odb

    def start(self) -> None:
        return None

    def read(self, oid: str) -> bytes | None:
        try:
            return self.odb.read(oid)[1]
        except (KeyError, ValueError):
            return None

    def read_many(self, oids: list[str]) -> dict[str, bytes | None]:
        return {oid: self.read(oid) for oid in oids}

    def close(self) -> None:
        """Let go of the repository's open pack files now, not when it is collected (a worker
        reads hundreds of repositories in a row)."""
        self.repo.free()


def read_log(local: Local, max_commits: int) -> str | None:
    """The newest commits as ``git log -n MAX --format=%H%x1f%ct%x1f%ae`` prints them, when the
    whole history holds at most ``max_commits`` (then which come first does not matter);
    None when it holds more, or cannot be walked (``git log`` then reads it)."""
    lib = _library()
    rows: list[str] = []
    try:
        for commit in local.repo.walk(local.head, lib.enums.SortMode.TIME):
            if len(rows) == max_commits:
                return None
            email = commit.author.raw_email.decode("utf-8", "replace")
            rows.append(f"{commit.id}\x1f{commit.commit_time}\x1f{email}\n")
    except (lib.GitError, KeyError, ValueError):
        return None
    return "".join(rows)


def held_commits(local: Local, limit: int) -> list[str] | None:
    """Every commit ``git rev-list --all --reflog`` lists: reachable from every ref and
    ``HEAD``, or from an old or new value of their reflogs. None when there are more than
    ``limit`` (which come first is git's order) or anything cannot be read (git then says
    what)."""
    lib = _library()
    repo = local.repo
    tips: set[Any] = set()
    try:
        for name in ("HEAD", *repo.references):
            ref = repo.references.get(name)
            if ref is None:
                continue
            if not (name == "HEAD" and repo.head_is_unborn):
                tips.add(ref.peel(lib.Commit).id)
            for entry in ref.log():
                tips.update(oid for oid in (entry.oid_old, entry.oid_new) if any(oid.raw))
        walker = repo.walk(None)
        for tip in tips:
            walker.push(tip)
        found: list[str] = []
        for commit in walker:
            if len(found) == limit:
                return None
            found.append(str(commit.id))
    except (lib.GitError, KeyError, ValueError, TypeError):
        return None
    return found


@dataclass(frozen=True)
class Search:
    """The shared content search, as :func:`probes.git.collect._grep` runs it with git: files
    matching ``code_globs`` count when a line matches ``code`` (one of ``code_words`` is on
    every such line: a line without one is never tried); files matching ``config_globs``
    give every line matching any of ``patterns`` (``code`` among them)."""

    code: re.Pattern[bytes]
    code_words: re.Pattern[bytes]
    any_pattern: re.Pattern[bytes]
    code_globs: Sequence[str]
    config_globs: Sequence[str]
    #: each list of globs as one test (:func:`~probes.git.declare.glob_matcher`)
    is_code: Any = field(init=False, repr=False, compare=False)
    is_config: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_code", glob_matcher(self.code_globs))
        object.__setattr__(self, "is_config", glob_matcher(self.config_globs))


def grep(local: Local, tree: Tree, search: Search) -> tuple[bytes, bytes] | None:
    """``git grep -n -I --null --full-name`` over the commit's regular files, in its output
    form: (files whose code imports a known tool, ``commit:path\\0`` each; matching lines of
    configuration files, ``commit:path\\0line\\0text\\n`` each). None when the search is large
    enough for ``git grep`` to do it faster."""
    todo: list[tuple[str, str, bool, bool]] = []
    cost = 0
    for path, (mode, oid, size) in tree.rows():
        if mode not in _REGULAR:
            continue  # git greps regular files: no symlink, no submodule
        is_code = search.is_code(path) is not None
        is_config = search.is_config(path) is not None
        if is_code or is_config:
            todo.append((path, oid, is_code, is_config))
            cost += (size or 0) * (CONFIG_WEIGHT if is_config else 1)
    if len(todo) > MAX_GREP_FILES or cost > MAX_GREP_COST:
        return None
    binary = _binary_by_attributes(local, tree, [t[0] for t in todo])
    odb = local.repo.odb
    prefix = local.head.encode() + b":"
    code_out: list[bytes] = []
    config_out: list[bytes] = []
    for path, oid, is_code, is_config in todo:
        try:
            data = odb.read(oid)[1]
        except KeyError:
            continue
        verdict = binary.get(path)
        if verdict is True or (verdict is None and b"\0" in data[:BINARY_PROBE]):
            continue
        name = prefix + path.encode("utf-8", "surrogateescape")
        if is_code and _code_line(data, search):
            code_out.append(name + b"\0")
        if is_config:
            for number, text in _matching_lines(data, search.any_pattern):
                config_out.append(b"%s\0%d\0%s\n" % (name, number, text))
    return b"".join(code_out), b"".join(config_out)


def _code_line(data: bytes, search: Search) -> bool:
    """Whether a line of ``data`` matches the import pattern: only lines holding one of its
    words are tried (the pattern on the whole file would be tried at every position)."""
    return next(_lines(data, search.code_words, search.code), None) is not None


def _matching_lines(data: bytes, pattern: re.Pattern[bytes]) -> list[tuple[int, bytes]]:
    """(line number, line) of every line ``pattern`` matches on its own, as ``git grep``
    tries each line (``pattern``, compiled with ``re.M``, also finds the candidates)."""
    found: list[tuple[int, bytes]] = []
    line_no, counted = 1, 0
    for start, line in _lines(data, pattern, pattern):
        line_no += data.count(b"\n", counted, start)
        counted = start
        found.append((line_no, line))
    return found


def _lines(data: bytes, finder: re.Pattern[bytes], pattern: re.Pattern[bytes]
           ) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each line ``pattern`` matches on its own, in order. ``finder`` finds
    the next candidate in the whole text; the line it starts on is then tried alone, and the
    search goes on from the next line (a match in the whole text may run on across a
    newline, so a candidate is never taken for a match)."""
    pos = 0
    while pos <= len(data) and (m := finder.search(data, pos)) is not None:
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.start())
        end = len(data) if end < 0 else end
        line = data[start:end]
        if pattern.search(line):
            yield start, line
        pos = end + 1


def _binary_by_attributes(local: Local, tree: Tree, paths: list[str]) -> dict[str, bool]:
    """What the ``diff`` attribute says of each path (``-diff``/``binary``: binary; ``diff``:
    text), read as git grep reads it: from the work tree's ``.gitattributes`` files and
    ``info/attributes``. Empty when the repository has neither (then git looks at content)."""
    if not (Path(local.git_dir, "info", "attributes").is_file()
            or (not local.bare and any(p == ".gitattributes" or p.endswith("/.gitattributes")
                                       for p, _ in tree.rows()))):
        return {}
    verdicts: dict[str, bool] = {}
    for path in paths:
        try:
            value = local.repo.get_attr(path, "diff")
        except Exception:  # noqa: BLE001 - an unreadable attribute: git looks at content
            continue
        if value is False:
            verdicts[path] = True
        elif value is True:
            verdicts[path] = False
    return verdicts
