"""Python code and notebooks: ``git grep`` narrows the candidates (imports of known tools, and
Great Expectations expectations called on objects built elsewhere) over the committed tree;
only candidate files are read (:mod:`code_source`), and only real syntax counts
(:mod:`code_ast`): imports found outside strings and comments, then uses confirmed with
``ast`` and matched against :mod:`code_rules`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from auditor.catalog import Taxonomy, Tool, taxonomy
from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.detect.iac import CDK_CONSTRUCTS, cdk_evidence
from probes.git.detect.words import serves, trains
from probes.git.gitcmd import GitError
from probes.git.scan import Scan, pathspec
from probes.git.source import Repo
from probes.git.tree import Entry

if TYPE_CHECKING:  # the reading and matching modules are imported once a file is read
    from probes.git.detect.code_source import Source

C, D = Strength.CONFIGURED, Strength.DECLARED
CODE_GLOBS = ("*.py", "*.ipynb")
EXTRA_TOPS = ("boto3", "aws_cdk")  # not tools themselves; their clients and constructs are read
_EXPECT = r"\.expect_[a-z_]+\("


def import_pattern() -> str:
    """An import of a known tool, in any form: ``import os, mlflow``, ``from x import y as z``,
    ``import google.cloud.aiplatform as aip``; ``"?`` admits notebook JSON lines."""
    return _import_pattern(taxonomy())[0]


def import_regex() -> re.Pattern[bytes]:
    """:func:`import_pattern` compiled for lines of ``git grep`` output (bytes: the ASCII
    ``\\s``, ``\\w`` and ``\\b`` git's engines use with ``LC_ALL=C``). Compiled on first use:
    a repository where ``git grep`` finds no import never needs it (3 ms of start-up)."""
    return _import_pattern(taxonomy())[1]


def import_words() -> re.Pattern[bytes]:
    """The words one of which is on every line :func:`import_pattern` matches (its branches
    start ``from``, ``import`` and ``.expect_``): searching a file for them first skips the
    lines the pattern cannot match (``probes.git.in_process``)."""
    return _IMPORT_WORDS


_IMPORT_WORDS = re.compile(rb"from|import|\.expect_")
_import_cache: tuple[Taxonomy, str, re.Pattern[bytes]] | None = None  # built once per catalog


def _import_pattern(tax: Taxonomy) -> tuple[str, re.Pattern[bytes]]:
    global _import_cache
    cached = _import_cache
    if cached is None or cached[0] is not tax:
        tops = sorted({imp.split(".")[0] for imp in tax.by_import} | set(EXTRA_TOPS))
        alt = "|".join(re.escape(t) for t in tops)
        pattern = (rf'^\s*"?\s*(from\s+({alt})\b|import\s+([\w.]+(\s+as\s+\w+)?\s*,\s*)*({alt})\b)|'
                   + _EXPECT)
        cached = _import_cache = (tax, pattern, lazy(pattern.encode()))
    return cached[1], cached[2]


def grep_command(repo: Repo, subdir: str | None, mode: str = "-P",
                 exclude: Sequence[str] = ()) -> list[str]:
    """One ``git grep -l`` over the tree for imports of known tools (narrows the candidates)."""
    return ["grep", "-l", "-I", "--null", "--no-color", "--full-name", mode, "-e", import_pattern(),
            repo.head, *pathspec(subdir, *CODE_GLOBS, exclude=exclude)]


def run_grep(repo: Repo, subdir: str | None, exclude: Sequence[str] = ()) -> bytes:
    """Needs only the repository, so it can start before the tree is listed."""
    try:
        return repo.git.run(*grep_command(repo, subdir, "-P", exclude), ok_codes=(0, 1))
    except GitError as exc:  # git built without PCRE: the (slower) POSIX engine
        if "perl" not in str(exc).lower() and "pcre" not in str(exc).lower():
            raise
        return repo.git.run(*grep_command(repo, subdir, "-E", exclude), ok_codes=(0, 1))


def candidates(scan: Scan, out: bytes) -> list[str]:
    prefix = scan.repo.head + ":"
    paths = (raw.decode("utf-8", "surrogateescape").strip().removeprefix(prefix)
             for raw in out.split(b"\0"))
    missing = set(scan.tree.missing)
    return sorted(p for p in paths if p and p in scan.tree and p not in missing and scan.sees(p))


# --- one file ------------------------------------------------------------------------------


@dataclass
class FileResult:
    """What one candidate Python file or notebook shows."""

    tools: dict[str, int] = field(default_factory=dict)  # tool → first import line (confirmed)
    unconfirmed: dict[str, int] = field(default_factory=dict)  # imports not yet checked for strings
    used: dict[tuple[str, str], int] = field(default_factory=dict)  # (tool, category) → line
    evidence: list[Evidence] = field(default_factory=list)
    source: Source | None = None  # kept for confirming the imports later without reading it again


def tool_of(path: str) -> str | None:
    """The known tool a resolved path belongs to (``aws:<service>`` for other boto3 clients)."""
    if path.startswith("boto3."):
        from probes.git.detect.code_rules import boto3_tool

        return boto3_tool(path)
    tool = taxonomy().tool_for_import(path.replace("()", ""))
    return tool.name if tool else None


def _use_candidates(masked: str, names: list[str]) -> bool:
    """Whether masked code calls, decorates or subclasses any imported name (a cheap test
    before the file is parsed whole)."""
    return bool(names) and _use_regex(tuple(sorted(set(names), key=len, reverse=True))).search(masked) \
        is not None


@lru_cache(maxsize=1024)
def _use_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    alt = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![\w.])({alt})\s*(\.\s*\w+\s*)*\(|@\s*({alt})\b|"
                      rf"^\s*class\s+\w+\s*\([^)]*\b({alt})\b", re.M)


def _tool_imports(src: Source, modules: list[tuple[int, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line, module in modules:
        name = tool_of(module)
        if name and name in taxonomy().tools:
            out.setdefault(name, src.file_line(line))
    return out


def confirmed_imports(scan: Scan, entry: Entry, text: str, src: Source | None = None) -> dict[str, int]:
    """Tools a file really imports (import statements outside strings and comments)."""
    from probes.git.detect import code_ast
    from probes.git.detect.code_source import read_source

    src = src or read_source(scan, entry, text)
    if src is None:
        return {}
    _, modules, _ = code_ast.imported(code_ast.mask(src.text))
    return _tool_imports(src, modules)


def analyse(scan: Scan, entry: Entry, text: str, gx_in_repo: bool) -> FileResult:
    """One candidate file. A file that never calls what it imports (on its raw text) stops
    early: its imports are confirmed later, and only if they would show something new."""
    from auditor.refs import model_key
    from probes.git.detect import code_ast
    from probes.git.detect.code_rules import RULES, USES
    from probes.git.detect.code_source import parse, read_source

    res = FileResult()
    src = res.source = read_source(scan, entry, text)
    if src is None:
        return res
    bound, modules, error = code_ast.imported(src.text)
    names = [n.split(".")[0] for n, m in bound.items() if tool_of(m) or m.split(".")[0] in EXTRA_TOPS]
    if not (gx_in_repo and ".expect_" in src.text) and not _use_candidates(src.text, names):
        if error:  # an import statement that does not parse: reported when it is real code
            _, _, error = code_ast.imported(code_ast.mask(src.text))
            if error and not src.cells:
                scan.note(entry.path, f"invalid Python: {error}")
        res.unconfirmed = _tool_imports(src, modules)
        return res
    masked = code_ast.mask(src.text)
    bound, modules, error = code_ast.imported(masked)
    if error and not src.cells:
        scan.note(entry.path, f"invalid Python: {error}")
    res.tools = _tool_imports(src, modules)
    names = [n.split(".")[0] for n, m in bound.items() if tool_of(m) or m.split(".")[0] in EXTRA_TOPS]
    expects = gx_in_repo and re.search(_EXPECT, masked) is not None
    if not expects and not _use_candidates(masked, names):
        return res  # imported only
    mods = parse(scan, src)
    if not mods:
        return res
    found, strings = code_ast.uses(mods, bound, with_strings="models:/" in src.text)
    lines = src.lines
    # one piece of evidence per signal and file (per model for links), at the first use,
    # with the number of uses: a schema of 20 checks is one data validation, not 20
    pending: dict[tuple, list] = {}

    def emit(signal: str, line: int, excerpt: str, strength: Strength = C, **attrs) -> None:
        key = (signal, str(attrs.get("tool") or attrs.get("tools") or ""),
               str(attrs.get("link_keys") or attrs.get("links_to") or ""), attrs.get("trains"))
        if key in pending:
            pending[key][3] += 1
        else:
            pending[key] = [src.file_line(line), excerpt, attrs, 1, strength]

    tax = taxonomy()
    for use in found:
        if use.kind == "key":
            for rule in RULES:
                if rule.key_matches(use.path) and any(t in res.tools for t in rule.tools):
                    emit(rule.signal, use.line, _line(lines, use.line), tools=sorted(rule.tools & set(res.tools)))
            continue
        tool = tool_of(use.path)
        if use.path.startswith("aws_cdk."):
            yield_cdk(scan, res, src, use, lines)
            continue
        if tool is None:
            continue
        known = tax.tools.get(tool)
        cats = set(known.categories) if known else set()
        for rule in RULES:
            if (rule.tools or rule.categories) and tool not in rule.tools and not cats & rule.categories:
                continue
            if rule.check is not None and not rule.check(use):
                continue
            hit = use.kind in rule.kinds and rule.path_matches(use.path)
            if not hit and use.kind == "call":
                hit = any(rule.keyword_matches(k) and _meaningful(v) for k, v in use.keywords.items())
            if hit:
                extra = _attrs(rule.signal, use, lines)
                if extra is None:
                    continue
                emit(rule.signal, use.line, _line(lines, use.line), tool=tool, **extra)
        if known:
            for category in known.categories:
                pattern = USES.get((tool, category))
                if pattern is None or re.search(pattern, use.path) or (
                        use.kind == "call" and any(re.search(pattern, k) for k in use.keywords)):
                    res.used.setdefault((tool, category), src.file_line(use.line))
    if expects:  # expectations called on datasets built elsewhere (fixtures in conftest.py)
        for mod in mods:
            for node in ast.walk(mod):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr.startswith("expect_"):
                    emit("data_validation.check", node.lineno, _line(lines, node.lineno),
                         tool="great-expectations")
    for line, value in strings:
        if "models:/" in value:
            refs = sorted(set(re.findall(r"models:/([\w.-]+)", value)))
            if refs:
                emit("model.reference", line, value, links_to=[model_key(r) for r in refs])
    _entry_points(scan, res, src, mods, found, emit)
    for (signal, *_), (line, excerpt, attrs, count, strength) in sorted(
            pending.items(), key=lambda kv: (kv[1][0], kv[0][0])):
        res.evidence.append(scan.ev(signal, strength, entry.path, line, excerpt, source="code",
                                    uses=count if count > 1 else None, **attrs))
    return res


def _line(lines: list[str], n: int) -> str:
    return lines[n - 1].strip() if 0 < n <= len(lines) else ""


def _meaningful(value: object) -> bool:
    """A keyword argument that sets something (``schedule=None`` or ``"@once"`` does not)."""
    return value not in (None, False, "", "@once", "None")


def _attrs(signal: str, use, lines: list[str]) -> dict | None:
    """Attributes a signal carries; None when the use does not show the signal after all."""
    if signal == "registry.usage":
        from auditor.refs import model_key

        name = use.keywords.get("registered_model_name") or use.keywords.get("name")
        if not (isinstance(name, str) and re.fullmatch(r"[\w.-]+", name)):  # a constant name only
            strs = [a for a in use.args if isinstance(a, str) and re.fullmatch(r"[\w.-]+", a)]
            name = strs[-1] if strs and use.path.endswith("register_model") else None
        return {"model": name, "link_keys": [model_key(name)] if name else None}
    if signal == "schedule.job":
        kw = use.keywords
        if any(kw.get(k) is False for k in ("enabled", "is_enabled")) or kw.get("is_paused_upon_creation") is True:
            return None
        from probes.git.detect.code_ast import segment

        return {"trains": _trains(segment(lines, use.scope))}
    return {}


def _trains(text: str) -> bool:
    return trains(text)


def yield_cdk(scan: Scan, res: FileResult, src: Source, use, lines: list[str]) -> None:
    """Python CDK constructs, read with the IaC detector's construct table."""
    from probes.git.detect.code_ast import segment

    construct = use.path.removeprefix("aws_cdk.").replace("()", "")
    statement = segment(lines, use.node)
    signal = CDK_CONSTRUCTS.get(construct)
    schedule = use.keywords.get("schedule")
    if signal is None and isinstance(schedule, str) and "aws_events.Schedule." in schedule:
        signal, construct = "schedule.job", construct or "aws_events.Rule"
    if construct == "aws_events.Rule" and not isinstance(schedule, str):  # a rule on events
        schedule = None
    if signal is None:
        res.used.setdefault(("aws-cdk", "iac"), src.file_line(use.line))
        return
    res.used.setdefault(("aws-cdk", "iac"), src.file_line(use.line))
    scheduled = isinstance(schedule, str) and "Schedule." in schedule
    for ev in cdk_evidence(scan, src.path, src.file_line(use.line), construct, signal, statement,
                           schedule=scheduled):
        res.evidence.append(ev)


_ROUTE = lazy(r"(^|\.)(route|get|post|put|api_route|add_url_rule|websocket)$")


def _entry_points(scan: Scan, res: FileResult, src: Source, mods: list[ast.Module], found,
                  emit: Callable[..., None]) -> None:
    """Serving entry points: a web route that serves predictions (Flask, FastAPI), a Lambda
    handler that invokes a model endpoint, an Azure ML scoring script (``init``/``run``)."""
    for use in found:
        if use.kind in ("decorator", "call") and _ROUTE.search(use.path) and \
                tool_of(use.path) in ("flask", "fastapi"):
            route = " ".join(str(a) for a in use.args if isinstance(a, str))
            name = getattr(use.node, "name", "") if use.kind == "decorator" else ""
            if route and serves(f"{route} {name}"):
                emit("serving.deployment", use.line, f"{route} {name}".strip(), tool=tool_of(use.path),
                     kind="web_api")
                return
    from probes.git.detect.code_ast import functions

    funcs = {f.name: f for f in functions(mods)}
    invokes = [u for u in found if u.path.endswith(("invoke_endpoint", "invoke_endpoint_async"))]
    handlers = [f for n, f in funcs.items() if n.endswith("handler") and len(f.args.args) == 2]
    if handlers and invokes:
        emit("serving.deployment", handlers[0].lineno, f"def {handlers[0].name}(event, context)",
             tool="aws-lambda", kind="lambda_handler")
        return
    if "init" in funcs and "run" in funcs and any(
            u.path.endswith(("Model.get_model_path", "get_model_path")) or "inference_schema" in u.path
            for u in found):
        emit("serving.deployment", funcs["run"].lineno, "def init() / def run(...)", tool="azureml",
             kind="scoring_script")


# --- the detector ------------------------------------------------------------------------------


def detect(scan: Scan, grep_output: Callable[[], bytes] | None = None) -> Iterator[Evidence]:
    tax = taxonomy()
    try:
        out = grep_output() if grep_output else run_grep(scan.repo, scan.subdir)
    except GitError as exc:
        scan.pending.append(scan.ctx.unobserved(scan.target, what="python code",
                                                reason=f"git grep failed: {exc}",
                                                signals=("tool", "pipeline", "registry")))
        return
    paths = candidates(scan, out)
    entries = [scan.tree[p] for p in paths]
    scan.prefetch_texts(entries)
    gx_in_repo = "great-expectations" in scan.declared or False
    texts: dict[str, str] = {}
    for entry in entries:
        scan.ctx.check()
        if not scan.readable(entry):
            continue
        text = scan.text(entry)
        if text is not None:
            texts[entry.path] = text
            if not gx_in_repo and re.search(r"^\s*\"?\s*(import|from)\s+great_expectations\b", text, re.M):
                gx_in_repo = True
    used: dict[tuple[str, str], tuple[str, int, int]] = {}
    imported_only: dict[str, tuple[str, int]] = {}
    unconfirmed: dict[str, list[str]] = {}  # tool → files whose import of it is not checked yet
    sources: dict[str, Source] = {}
    for path, text in texts.items():
        scan.ctx.check()
        res = analyse(scan, scan.tree[path], text, gx_in_repo)
        if res.unconfirmed and res.source is not None:
            sources[path] = res.source
        yield from res.evidence
        for key, line in res.used.items():
            prev = used.get(key)
            used[key] = (prev[0], prev[1], prev[2] + 1) if prev else (path, line, 1)
        for tool, line in res.tools.items():
            imported_only.setdefault(tool, (path, line))
        for tool in res.unconfirmed:
            unconfirmed.setdefault(tool, []).append(path)
    for (name, category), (path, line, files) in sorted(used.items()):
        if name == "aws-cdk":
            yield scan.ev("iac.definition", C, path, line, tool="cdk", language="python", files=files)
            continue
        tool = tax.tools.get(name)
        if tool is None:
            continue
        yield scan.ev(f"tool.{category}", C, path, line, tool=name, version=_version(scan, tool),
                      source="code", files=files)
    confirmed: dict[str, dict[str, int]] = {}  # path → its confirmed imports (checked once)
    for tool, paths in sorted(unconfirmed.items()):
        if tool in imported_only or any(t == tool for t, _ in used):
            continue
        for path in paths:  # the first file whose import is real code
            if path not in confirmed:
                confirmed[path] = confirmed_imports(scan, scan.tree[path], texts[path], sources.get(path))
            line = confirmed[path].get(tool)
            if line:
                imported_only[tool] = (path, line)
                break
    credited = {t for t, _ in used}
    declared_pkgs = set(scan.declared)
    for name, (path, line) in sorted(imported_only.items()):
        tool = tax.tools.get(name)
        if tool is None or set(tool.packages) & declared_pkgs:
            continue  # the dependency file already says "declared"
        for category in tool.categories:
            if (name, category) in used:
                continue
            yield scan.ev(f"tool.{category}", D, path, line, tool=name, version=_version(scan, tool),
                          source="import" if name not in credited else "code")


def _version(scan: Scan, tool: Tool) -> str | None:
    for pkg in tool.packages:
        where = scan.declared.get(pkg)
        if where and where.version:
            return where.version
        if pkg in scan.locked_versions:
            return scan.locked_versions[pkg]
    return None


DETECTOR = Detector(
    area="code",
    signals=("tool", "registry", "pipeline", "lineage", "metadata", "monitoring", "validation",
             "fairness", "explainability", "data_validation", "feature_store", "schedule",
             "distributed", "serving", "model", "docs.model_card", "iac", "ci", "governance",
             "deploy", "security", "audit", "cost", "compute", "remediation"),
    files=Files(grep_globs=CODE_GLOBS),  # its own grep: import_pattern()
    run=lambda scan: detect(scan, scan.facts.get("code_grep")),
    after=("dependencies", "environments"),
    own_grep=True)
