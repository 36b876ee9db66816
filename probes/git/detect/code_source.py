"""The Python a candidate file holds: a ``.py`` file's text, or a notebook's code cells.

Notebooks: code cells only (never outputs or markdown), IPython magics dropped (``%``, ``!``,
``?`` lines; ``%%`` cells), each cell parsed on its own; bounded on the size of the code, not of
the file; cells and files that cannot be read are reported, never skipped silently. Line
numbers point into the ``.ipynb`` file, at the cell's source line.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.git.scan import Scan
from probes.git.tree import Entry


@dataclass
class Source:
    """The Python a file holds: one module per code cell for notebooks."""

    path: str
    text: str  # the Python text (notebook: code cells joined); line numbers are virtual for notebooks
    cells: list[tuple[int, str]] = field(default_factory=list)  # (first virtual line, code)
    file_line: Callable[[int], int] = lambda n: n  # virtual line → line in the file

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def read_source(scan: Scan, entry: Entry, text: str) -> Source | None:
    if not entry.name.lower().endswith(".ipynb"):
        return Source(entry.path, text)
    return notebook_source(scan, entry, text)


_MAGIC = ("%", "!", "?")


def notebook_source(scan: Scan, entry: Entry, text: str) -> Source | None:
    """Code cells of a notebook, bounded on code size; outputs and markdown are never read."""
    try:
        nb = json.loads(text)
        cells = nb["cells"] if isinstance(nb, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no cells")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        scan.note(entry.path, f"invalid notebook: {str(exc).splitlines()[0][:120]}")
        return None
    source_keys = [m.start() for m in re.finditer(r'"source"\s*:', text)]
    out_lines: list[str] = []
    json_lines: list[int] = []
    starts: list[tuple[int, str]] = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        lines = [str(x) for x in src] if isinstance(src, list) else str(src).splitlines(keepends=True)
        code = [ln.rstrip("\n") for ln in "".join(lines).split("\n")] if lines else []
        if code and code[0].lstrip().startswith("%%"):
            continue  # a cell magic: the cell is not Python
        code = ["" if ln.lstrip().startswith(_MAGIC) else ln for ln in code]
        key_line = text.count("\n", 0, source_keys[i]) + 1 if i < len(source_keys) else 1
        listed = isinstance(src, list) and not re.match(r'"source"\s*:\s*\[[ \t]*"', text[source_keys[i]:]) \
            if i < len(source_keys) else False
        first = len(out_lines) + 1
        starts.append((first, "\n".join(code)))
        for k, ln in enumerate(code):
            out_lines.append(ln)
            json_lines.append(key_line + 1 + k if listed else key_line)
        out_lines.append("")
        json_lines.append(key_line)
    size = sum(len(c) for _, c in starts)
    if size > scan.max_file_bytes:
        scan.note(entry.path, f"notebook code is {size} bytes, over the {scan.max_file_bytes}-byte "
                              "cap; skipped")
        return None
    return Source(entry.path, "\n".join(out_lines), starts,
                  lambda n: json_lines[n - 1] if 0 < n <= len(json_lines) else 1)


def parse(scan: Scan, src: Source) -> list[ast.Module]:
    """Modules for the file (one per notebook cell); invalid code is reported."""
    if not src.cells:
        try:
            return [ast.parse(src.text)]
        except (SyntaxError, ValueError, RecursionError) as exc:
            scan.note(src.path, f"invalid Python: line {getattr(exc, 'lineno', '?')}: "
                                f"{getattr(exc, 'msg', type(exc).__name__)}")
            return []
    mods, bad = [], []
    for first, code in src.cells:
        try:
            mod = compile(code, src.path, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except (SyntaxError, ValueError, RecursionError) as exc:
            bad.append(src.file_line(first + (getattr(exc, "lineno", 1) or 1) - 1))
            continue
        ast.increment_lineno(mod, first - 1)
        mods.append(mod)
    if bad:
        scan.note(src.path, f"{len(bad)} code cell(s) are not valid Python 3 (first at line {bad[0]}); "
                            "those cells were skipped")
    return mods
