"""Reading Python for real syntax only.

Two steps, so that the cost follows the files that use a tool rather than every file that
mentions one:

1. :func:`mask` blanks comments and the contents of string literals (line numbers kept) with one
   regular-expression pass. Import statements found in the masked text are real imports, and a
   file whose masked text never calls, decorates or subclasses an imported name has nothing more
   to show (it is only *imported*).
2. :func:`uses` parses the whole file with ``ast`` and lists every call, decorator, base class
   and dictionary key, each resolved to a dotted path through the file's imports and simple
   assignments (``client = MlflowClient()`` makes ``client.log_metric`` read as
   ``mlflow.MlflowClient().log_metric``; ``boto3.client("sagemaker")`` reads as
   ``boto3.client(sagemaker)``). Text inside strings, docstrings and comments never becomes a
   use, and a ``def register_model`` is a definition, not a call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.lazyre import lazy

_LEXER = lazy(  # the lookahead lets the engine skip to quotes and '#' quickly
    r"(?=[\"'#rRbBuUfF])(?:(?P<str>(?:\b[rRbBuUfF]{1,2})?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"
    r"\"(?:\\.|[^\"\\\n])*\"))|(?P<com>#[^\n]*))")
_NOT_NEWLINE = lazy(r"[^\n]")


def mask(source: str) -> str:
    """``source`` with comments and string contents replaced by spaces (quotes and line
    breaks kept), so that regular expressions over it see only code."""

    def blank(m: re.Match[str]) -> str:
        text = m.group(0)
        if m.group("com") is not None:
            return " " * len(text)
        return _NOT_NEWLINE.sub(" ", text)

    return _LEXER.sub(blank, source)


#: an import statement in masked text (parenthesised name lists may span lines)
IMPORT_STATEMENT = lazy(
    r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]*\([^)]*\)|(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]"
    r"(?:[^\n\\]|\\\n)*)", re.M)


def imported(masked: str) -> tuple[dict[str, str], list[tuple[int, str]], str | None]:
    """(local name → dotted module path, [(line, module)], syntax error) for the real import
    statements of a masked file. Statements are parsed with ``ast`` one by one."""
    bound: dict[str, str] = {}
    modules: list[tuple[int, str]] = []
    error = None
    found = [(masked.count("\n", 0, m.start()) + 1, m.group(0).strip())
             for m in IMPORT_STATEMENT.finditer(masked)]
    try:  # usually all at once; one by one only to find the statement that does not parse
        trees = [(line, ast.parse(stmt)) for line, stmt in [(0, "\n".join(s for _, s in found))]]
        lines_of = [line for line, stmt in found for _ in ast.parse(stmt).body] \
            if len(trees[0][1].body) != len(found) else [line for line, _ in found]
        pairs = list(zip(lines_of, trees[0][1].body, strict=False))
    except (SyntaxError, ValueError, RecursionError):
        pairs = []
        for line, stmt in found:
            try:
                pairs += [(line, node) for node in ast.parse(stmt).body]
            except (SyntaxError, ValueError, RecursionError) as exc:
                error = error or f"line {line}: {getattr(exc, 'msg', type(exc).__name__)}"
    for line, node in pairs:
        for name, full in _bindings(node):
            bound[name] = full
            modules.append((line, full))
    return bound, modules, error


def _bindings(node: ast.AST) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name
            else:
                top = alias.name.split(".")[0]
                yield top, top
                if "." in alias.name:  # ``import a.b`` makes ``a.b`` usable through ``a``
                    yield alias.name, alias.name
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, f"{node.module}.{alias.name}"


EXPR = "<expr>"  # a keyword or argument set by an expression that is neither a constant nor a tool


@dataclass
class Use:
    """One real use of something imported: a call, decorator, base class, or a dictionary key
    (``kind == "key"``, ``path`` is the key's text)."""

    path: str
    line: int
    kind: str  # call | decorator | base | key
    keywords: dict[str, Any] = field(default_factory=dict)  # constant values; resolved paths as "<path>"
    args: tuple[Any, ...] = ()  # constant positional arguments
    node: ast.AST | None = None
    scope: ast.AST | None = None  # the enclosing top-level statement (for its text)


class Resolver:
    """Dotted paths of names, attributes and calls through the file's imports and assignments."""

    def __init__(self, bound: dict[str, str]):
        self.bound = dict(bound)

    def path(self, node: ast.AST, depth: int = 0) -> str | None:
        if depth > 40:
            return None
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted:
                hit = self._longest_bound(dotted)
                if hit:
                    return hit
            base = self.path(node.value, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            base = self.path(node.func, depth + 1)
            if base is None:
                return None
            if base.split(".")[-1] in ("client", "resource") and base.startswith("boto3") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                return f"boto3.{base.split('.')[-1]}({node.args[0].value})"
            return base + "()"
        if isinstance(node, ast.Subscript):  # Input[Model], typing wrappers
            return None
        return None

    def _longest_bound(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            head = ".".join(parts[:n])
            if head in self.bound:
                rest = parts[n:]
                return ".".join([self.bound[head], *rest])
        return None

    def bind(self, target: ast.AST, value_path: str) -> None:
        dotted = _dotted(target)
        if dotted and dotted not in self.bound:
            self.bound[dotted] = value_path


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _constant(node: ast.AST, resolver: Resolver) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= 20:
        return [_constant(e, resolver) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        return -node.operand.value
    path = resolver.path(node)
    return f"<{path}>" if path else EXPR


def uses(modules: Iterable[ast.Module], bound: dict[str, str],
         with_strings: bool = False) -> tuple[list[Use], list[tuple[int, str]]]:
    """Every call, decorator, base class and dictionary key in ``modules`` (one file, or the
    code cells of one notebook), resolved through imports and assignments; and, when asked,
    the string constants used as values (docstrings excluded: ``models:/churn/1``)."""
    resolver = Resolver(bound)
    assigns: list[ast.AST] = []
    nodes: list[tuple[ast.AST, ast.AST]] = []  # (node, enclosing top-level statement)
    docs: set[int] = set()
    for mod in modules:
        for top in mod.body:
            for node in ast.walk(top):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for name, full in _bindings(node):
                        resolver.bound.setdefault(name, full)
                elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith, ast.NamedExpr)):
                    assigns.append(node)
                if isinstance(node, (ast.Call, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                     ast.Dict, ast.Subscript)) or \
                        with_strings and isinstance(node, (ast.Constant, ast.Expr)):
                    nodes.append((node, top))
    for _ in range(3):  # assignments may build on each other: x = A(); y = x.b()
        before = len(resolver.bound)
        for n in assigns:
            for target, value in _assigned(n):
                p = resolver.path(value)
                if p:
                    resolver.bind(target, p)
        if len(resolver.bound) == before:
            break
    out: list[Use] = []
    texts: list[tuple[int, str]] = []
    for node, top in nodes:
        if isinstance(node, ast.Call):
            p = resolver.path(node.func)
            kw = _keywords(node, resolver)
            if p or any(isinstance(v, str) and v.startswith("<") and v != EXPR for v in kw.values()):
                out.append(Use(p or "?", node.lineno, "call", kw,
                               tuple(_constant(a, resolver) for a in node.args[:5]), node, top))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                p = resolver.path(target)
                if p:
                    kw = _keywords(dec, resolver) if isinstance(dec, ast.Call) else {}
                    args = tuple(_constant(a, resolver) for a in dec.args[:5]) \
                        if isinstance(dec, ast.Call) else ()
                    out.append(Use(p, dec.lineno, "decorator", kw, args, node, top))
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    p = resolver.path(base)
                    if p:
                        out.append(Use(p, node.lineno, "base", {}, (), node, top))
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out.append(Use(key.value, key.lineno, "key", {}, (), node, top))
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                out.append(Use(node.slice.value, node.lineno, "key", {}, (), node, top))
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                docs.add(id(node.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append((node.lineno, node.value))
    strings = [(line, text) for line, text in texts] if not docs else \
        [(n.lineno, n.value) for n, _ in nodes if isinstance(n, ast.Constant)
         and isinstance(n.value, str) and id(n) not in docs]
    return out, strings


def _assigned(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    if isinstance(node, ast.Assign):
        for t in node.targets:
            yield t, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None or isinstance(node, ast.NamedExpr):
        yield node.target, node.value
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                yield item.optional_vars, item.context_expr


def _keywords(call: ast.Call, resolver: Resolver) -> dict[str, Any]:
    return {k.arg: _constant(k.value, resolver) for k in call.keywords if k.arg}


def functions(modules: Iterable[ast.Module]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Top-level functions (for entry points such as Lambda handlers and scoring scripts)."""
    for mod in modules:
        for node in mod.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node


def segment(lines: list[str], node: ast.AST | None, limit: int = 400) -> str:
    """The source lines a node spans (at most ``limit`` lines), for reading its words."""
    if node is None or not hasattr(node, "lineno"):
        return ""
    end = getattr(node, "end_lineno", None) or node.lineno
    return "\n".join(lines[node.lineno - 1:min(end, node.lineno - 1 + limit)])
