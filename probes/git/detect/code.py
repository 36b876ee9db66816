"""Python code and notebooks: git grep narrows the candidates (imports of known tools and known
call sites) over the committed tree; only the flagged files are parsed with ``ast``."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.catalog import Tool, taxonomy
from auditor.evidence import Evidence, Strength
from probes.git.detect.code_patterns import CALLS, MODEL_NAME, MODEL_REF
from probes.git.gitcmd import GitError
from probes.git.scan import Scan

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


def grep(scan: Scan) -> dict[str, FileHits]:
    """One ``git grep`` over the tree for tool imports and call sites."""
    patterns = [import_pattern()] + [p.regex for p in CALLS]
    args = ["grep", "-n", "-I", "--null", "--no-color", "--full-name"]
    for p in patterns:
        args += ["-e", p]
    pathspec = scan.pathspec(*CODE_GLOBS)
    out = None
    for mode in ("-P", "-E"):
        try:
            out = scan.repo.git.run(*args[:1], mode, *args[1:], scan.repo.head, *pathspec,
                                    ok_codes=(0, 1))
            break
        except GitError as exc:
            if mode == "-E" or "PCRE" not in str(exc) and "perl" not in str(exc).lower():
                raise
    hits: dict[str, FileHits] = defaultdict(FileHits)
    prefix = scan.repo.head + ":"
    imp = re.compile(import_pattern())
    for raw in (out or b"").split(b"\n"):
        if not raw:
            continue
        parts = raw.split(b"\0", 2)
        if len(parts) != 3:
            continue
        path = parts[0].decode("utf-8", "surrogateescape").removeprefix(prefix)
        line = int(parts[1])
        text = parts[2].decode("utf-8", "replace")
        if path.endswith(".ipynb"):
            text = _unjson(text)
        if imp.match(text):
            for module in _modules(text):
                hits[path].imports.append((line, module))
        else:
            hits[path].calls.append((line, text.strip()[:300]))
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


def detect(scan: Scan) -> Iterator[Evidence]:
    tax = taxonomy()
    try:
        hits = grep(scan)
    except GitError as exc:
        scan.pending.append(scan.ctx.unobserved(scan.target, what="python code",
                                                reason=f"git grep failed: {exc}",
                                                signals=("tool", "pipeline", "registry")))
        return
    used: dict[str, tuple[str, int, int]] = {}  # tool → (path, line, files)
    imported_only: dict[str, tuple[str, int]] = {}
    for path in sorted(hits):
        scan.ctx.check()
        entry = scan.by_path.get(path)
        if entry is None or not scan.readable(entry):
            continue
        fh = hits[path]
        tools_here: dict[str, tuple[Tool, int]] = {}
        for line, module in fh.imports:
            tool = tax.tool_for_import(module)
            if tool and tool.name not in tools_here:
                tools_here[tool.name] = (tool, line)
        called = _called_tools(scan, path, fh) if tools_here else set()
        for name, (_tool, line) in tools_here.items():
            if name in called:
                prev = used.get(name)
                used[name] = (prev[0], prev[1], prev[2] + 1) if prev else (path, line, 1)
            else:
                imported_only.setdefault(name, (path, line))
        cats = {c for tool, _ in tools_here.values() for c in tool.categories}
        names = set(tools_here)
        yield from _calls(scan, path, fh, cats, names)
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


def _calls(scan: Scan, path: str, fh: FileHits, cats: set[str], tools: set[str]) -> Iterator[Evidence]:
    seen: set[tuple[str, int]] = set()
    for line, text in fh.calls:
        for pat in CALLS:
            if (pat.categories or pat.tools) and not (pat.categories & cats or pat.tools & tools):
                continue
            if not pat.compiled.search(text) or (pat.signal, line) in seen:
                continue
            seen.add((pat.signal, line))
            attrs: dict = {"source": "code"}
            if pat.signal == "registry.usage":
                m = MODEL_NAME.search(text)
                name = next((g for g in m.groups() if g), None) if m else None
                if name:
                    attrs["link_keys"] = [f"model:{name}"]
                    attrs["model"] = name
            if pat.signal == "model.reference":
                refs = sorted(set(MODEL_REF.findall(text)))
                attrs["links_to"] = [f"model:{r}" for r in refs]
            if tools:
                attrs["tools"] = sorted(tools)[:10]
            yield scan.ev(pat.signal, C, path, line, text, **attrs)


def _called_tools(scan: Scan, path: str, fh: FileHits) -> set[str]:
    """Tools whose imported names are called (or used as decorators) in this file."""
    entry = scan.by_path[path]
    text = scan.text(entry)
    if text is None:
        return set()
    sources = _notebook_cells(scan, path, text) if path.endswith(".ipynb") else [text]
    called: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError) as exc:
            if not path.endswith(".ipynb"):
                scan.note(path, f"invalid Python: line {getattr(exc, 'lineno', '?')}: "
                                f"{getattr(exc, 'msg', type(exc).__name__)}")
            continue
        called |= _called_in(tree)
    return called


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


def _called_in(tree: ast.AST) -> set[str]:
    tax = taxonomy()
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    if not bound:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Call):
            targets.append(node.func)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets.extend(d.func if isinstance(d, ast.Call) else d for d in node.decorator_list)
            if isinstance(node, ast.ClassDef):
                targets.extend(node.bases)
        for t in targets:
            dotted = _dotted(t)
            if not dotted:
                continue
            root, _, rest = dotted.partition(".")
            if root in bound:
                full = bound[root] + ("." + rest if rest else "")
                tool = tax.tool_for_import(full)
                if tool:
                    out.add(tool.name)
    return out


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # mlflow.tracking.MlflowClient().log_metric(...)
        return _dotted(node.func)
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
