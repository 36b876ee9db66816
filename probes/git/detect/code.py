"""Python code and notebooks: git grep narrows the candidates (imports of known tools and known
call sites) over the committed tree; only the flagged files are parsed with ``ast``."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from auditor.catalog import Tool, taxonomy
from auditor.evidence import Evidence, Strength
from probes.git.detect.code_patterns import CALLS, MODEL_NAME, MODEL_REF
from probes.git.gitcmd import GitError
from probes.git.scan import Scan, pathspec
from probes.git.source import Repo

C, D = Strength.CONFIGURED, Strength.DECLARED
CODE_GLOBS = ("*.py", "*.ipynb")
_IMPORT_LINE = re.compile(r'^\s*"?\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+(?:\s*,\s*[\w.]+)*))')


@dataclass
class FileHits:
    imports: list[tuple[int, str]] = field(default_factory=list)  # (line, module)
    calls: list[tuple[int, str]] = field(default_factory=list)  # (line, text)


def import_pattern() -> str:
    tops = sorted({imp.split(".")[0] for imp in taxonomy().by_import} | {"aws_cdk"})
    return r'^\s*"?\s*(from|import)\s+(' + "|".join(re.escape(t) for t in tops) + r")\b"


def grep_command(repo: Repo, subdir: str | None, mode: str = "-P") -> list[str]:
    """One ``git grep`` over the tree for imports of known tools (narrows the candidates)."""
    return ["grep", "-n", "-I", "--null", "--no-color", "--full-name", mode, "-e", import_pattern(),
            repo.head, *pathspec(subdir, *CODE_GLOBS)]


def run_grep(repo: Repo, subdir: str | None) -> bytes:
    """Needs only the repository, so it can start before the tree is listed."""
    try:
        return repo.git.run(*grep_command(repo, subdir, "-P"), ok_codes=(0, 1))
    except GitError as exc:  # git built without PCRE: the (slower) POSIX engine
        if "perl" not in str(exc).lower() and "pcre" not in str(exc).lower():
            raise
        return repo.git.run(*grep_command(repo, subdir, "-E"), ok_codes=(0, 1))


def parse_grep(scan: Scan, out: bytes) -> dict[str, FileHits]:
    hits: dict[str, FileHits] = defaultdict(FileHits)
    prefix = scan.repo.head + ":"
    for raw in out.split(b"\n"):
        if not raw:
            continue
        parts = raw.split(b"\0", 2)
        if len(parts) != 3:
            continue
        path = parts[0].decode("utf-8", "surrogateescape").removeprefix(prefix)
        text = parts[2].decode("utf-8", "replace")
        if path.endswith(".ipynb"):
            text = _unjson(text)
        for module in _modules(text):
            hits[path].imports.append((int(parts[1]), module))
    return hits


def _unjson(text: str) -> str:
    """A notebook source line as stored in JSON (``    "import x\\n",``) → its Python text."""
    s = text.strip().rstrip(",")
    if s.startswith('"') and s.endswith('"'):
        try:
            return json.loads(s).rstrip("\n")
        except ValueError:
            pass
    return text


def _modules(text: str) -> list[str]:
    m = _IMPORT_LINE.match(text)
    if not m:
        return []
    if m.group(1):
        return [m.group(1)]
    return [part.strip().split(" ")[0] for part in m.group(2).split(",") if part.strip()]


def detect(scan: Scan, grep_output: Callable[[], bytes] | None = None) -> Iterator[Evidence]:
    tax = taxonomy()
    try:
        hits = parse_grep(scan, grep_output() if grep_output else run_grep(scan.repo, scan.subdir))
    except GitError as exc:
        scan.pending.append(scan.ctx.unobserved(scan.target, what="python code",
                                                reason=f"git grep failed: {exc}",
                                                signals=("tool", "pipeline", "registry")))
        return
    scan.prefetch_texts([scan.tree[p] for p in sorted(hits) if p in scan.tree])
    used: dict[str, tuple[str, int, int]] = {}  # tool → (path, line, files)
    imported_only: dict[str, tuple[str, int]] = {}
    for path in sorted(hits):
        scan.ctx.check()
        entry = scan.tree.get(path)
        if entry is None or not scan.readable(entry):
            continue
        fh = hits[path]
        tools_here: dict[str, tuple[Tool, int]] = {}
        for line, module in fh.imports:
            tool = tax.tool_for_import(module)
            if tool and tool.name not in tools_here:
                tools_here[tool.name] = (tool, line)
        text = scan.text(entry) if tools_here else None
        if text is None:
            continue
        called = _called_tools(scan, path, text)
        for name, (_tool, line) in tools_here.items():
            if name in called:
                prev = used.get(name)
                used[name] = (prev[0], prev[1], prev[2] + 1) if prev else (path, line, 1)
            else:
                imported_only.setdefault(name, (path, line))
        cats = {c for tool, _ in tools_here.values() for c in tool.categories}
        names = set(tools_here)
        yield from _calls(scan, path, text, cats, names)
    for name, (path, line, files) in sorted(used.items()):
        tool = tax.tools[name]
        version = _version(scan, tool)
        for category in tool.categories:
            yield scan.ev(f"tool.{category}", C, path, line, tool=name, version=version,
                          source="code", files=files)
    declared_pkgs = {p for p in scan.declared}
    for name, (path, line) in sorted(imported_only.items()):
        if name in used:
            continue
        tool = tax.tools[name]
        if set(tool.packages) & declared_pkgs:
            continue  # the dependency file already says "declared"
        for category in tool.categories:
            yield scan.ev(f"tool.{category}", D, path, line, tool=name, version=_version(scan, tool),
                          source="import")


def _version(scan: Scan, tool: Tool) -> str | None:
    for pkg in tool.packages:
        where = scan.declared.get(pkg)
        if where and where.version:
            return where.version
        if pkg in scan.locked_versions:
            return scan.locked_versions[pkg]
    return None


def _calls(scan: Scan, path: str, text: str, cats: set[str], tools: set[str]) -> Iterator[Evidence]:
    """Call sites in a file that imports known tools (the patterns run on the file's text)."""
    seen: set[tuple[str, int]] = set()
    lines: list[str] | None = None
    for pat in CALLS:
        if (pat.categories or pat.tools) and not (pat.categories & cats or pat.tools & tools):
            continue
        for m in pat.compiled.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            if (pat.signal, line) in seen:
                continue
            seen.add((pat.signal, line))
            lines = lines if lines is not None else text.splitlines()
            source = lines[line - 1] if line <= len(lines) else m.group(0)
            if path.endswith(".ipynb"):
                source = _unjson(source)
            if source.lstrip().startswith(("#", "import ", "from ")):
                continue
            attrs: dict = {"source": "code"}
            if pat.signal == "registry.usage":
                mm = MODEL_NAME.search(source)
                name = next((g for g in mm.groups() if g), None) if mm else None
                if name:
                    attrs["link_keys"] = [f"model:{name}"]
                    attrs["model"] = name
            if pat.signal == "model.reference":
                refs = sorted(set(MODEL_REF.findall(source)))
                attrs["links_to"] = [f"model:{r}" for r in refs]
            attrs["tools"] = sorted(tools)[:10]
            yield scan.ev(pat.signal, C, path, line, source.strip(), **attrs)


def _called_tools(scan: Scan, path: str, text: str) -> set[str]:
    """Tools whose imported names are called (or used as decorators or base classes).

    Only the import statements are parsed with ``ast`` (aliases, multi-line ``from``
    imports, imports inside functions); uses are found with one regex over the text. Parsing
    whole files cost more than everything else the probe does on a large repository."""
    sources = _notebook_cells(scan, path, text) if path.endswith(".ipynb") else [text]
    called: set[str] = set()
    for source in sources:
        statements = [(source.count("\n", 0, m.start()) + 1, m.group(0).strip())
                      for m in _IMPORT_STATEMENT.finditer(source)]
        try:
            tree = ast.parse("\n".join(s for _, s in statements))
        except (SyntaxError, ValueError, RecursionError) as exc:
            n = getattr(exc, "lineno", None)
            line = statements[n - 1][0] if n and 0 < n <= len(statements) else "?"
            if not path.endswith(".ipynb"):
                scan.note(path, f"invalid Python: line {line}: {getattr(exc, 'msg', type(exc).__name__)}")
            continue
        called |= _called_in(tree, source)
    return called


#: an import statement, with a parenthesised name list spanning lines or backslash continuations
_IMPORT_STATEMENT = re.compile(
    r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]*\([^)]*\)|(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]"
    r"(?:[^\n\\]|\\\n)*)", re.M)


def _notebook_cells(scan: Scan, path: str, text: str) -> list[str]:
    try:
        nb = json.loads(text)
        cells = nb["cells"] if isinstance(nb, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no cells")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        scan.note(path, f"invalid notebook: {str(exc).splitlines()[0][:120]}")
        return []
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!", "?"))]
        out.append("\n".join(lines))
    return ["\n\n".join(out)] if out else []


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name → imported dotted module, from the parsed import statements."""
    bound: dict[str, str] = {}
    stack = list(getattr(tree, "body", []))
    depth = {id(n): 0 for n in stack}
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, (ast.If, ast.Try, ast.With)) and depth[id(node)] < 2:
            for child in node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []) + [
                    s for h in getattr(node, "handlers", []) for s in h.body]:
                depth[id(child)] = depth[id(node)] + 1
                stack.append(child)
    return bound


def _called_in(tree: ast.AST, source: str) -> set[str]:
    tax = taxonomy()
    bound = {name: full for name, full in _imports(tree).items() if tax.tool_for_import(full)}
    if not bound:
        return set()
    names = "|".join(re.escape(n) for n in sorted(bound, key=len, reverse=True))
    use = re.compile(rf"(?<![\w.])({names})((?:\s*\.\s*\w+)*)\s*\(|^\s*@({names})((?:\.\w+)*)|"
                     rf"^\s*class\s+\w+\s*\(([^)]*)\)", re.M)
    out: set[str] = set()
    for m in use.finditer(source):
        if m.group(5) is not None:  # base classes
            candidates = [b.strip() for b in m.group(5).split(",")]
        else:
            root = m.group(1) or m.group(3)
            rest = (m.group(2) or m.group(4) or "").replace(" ", "")
            candidates = [root + rest]
        for dotted in candidates:
            root, _, rest = dotted.partition(".")
            if root in bound:
                tool = tax.tool_for_import(bound[root] + ("." + rest if rest else ""))
                if tool:
                    out.add(tool.name)
    return out
