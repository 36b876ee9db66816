"""audit.yaml: loading, validation with file/line/key errors, and targets from CLI arguments."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import registry
from auditor.probe import Policy, Target
from auditor.redact import register_secret

#: Most YAML nodes a configuration may stand for once its aliases are expanded. A real
#: audit.yaml has a few thousand; an alias bomb ("billion laughs") has billions and would
#: make the line index, ``${VAR}`` expansion and validation walk every one of them.
MAX_EXPANDED_NODES = 100_000


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetBase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: str
    labels: dict[str, str] = {}
    timeout: float | None = Field(default=None, gt=0)


class PolicyModel(_Strict):
    allowed_regions: list[str] = []


class SettingsModel(_Strict):
    jobs: int | None = Field(default=None, ge=1)
    timeout: float = Field(default=300.0, gt=0)
    cache_dir: str | None = None
    framework: str = "seven_stages"
    history_dir: str | None = None
    strict: bool = False  # unknown capabilities block placement; an incomplete audit exits 3


class WaiverModel(_Strict):
    capability: str
    scope: str = "org"  # "org", "team:<name>" or "target:<name>"
    reason: str
    expires: date | None = None


class ConfigModel(_Strict):
    version: int = 1
    targets: list[dict[str, Any]]
    policy: PolicyModel = PolicyModel()
    settings: SettingsModel = SettingsModel()
    waivers: list[WaiverModel] = []


@dataclass
class AuditConfig:
    targets: list[Target]
    policy: Policy = field(default_factory=Policy)
    settings: SettingsModel = field(default_factory=SettingsModel)
    waivers: list[WaiverModel] = field(default_factory=list)
    source: str = "<arguments>"


def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path in the YAML document to its 1-based line."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            kpath = path + (key.value,)
            out[kpath] = key.start_mark.line + 1
            _line_index(value, kpath, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), out)
    return out


def _where(file: str, lines: dict[tuple, int], loc: tuple) -> str:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return f"{file}:{lines[loc[:n]]}"
    return file


def _first_error(exc: ValidationError, file: str, lines: dict[tuple, int], base: tuple = ()) -> str:
    err = exc.errors()[0]
    loc = base + tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key is missing"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{_where(file, lines, loc)}: {key}: {msg}{more}"


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes the document stands for with every alias expanded, counted without expanding
    (an alias is the same node object met twice, so sizes are memoised per node). Stops
    counting past ``limit``; iterative, so depth cannot exhaust the stack."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_nodes:
            return limit + 1  # a node inside itself (``&a [*a]``) expands without end
        if isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(k), 1) for k in kids))
        else:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes.get(id(root), 1)


def _expand_var(match: re.Match[str]) -> str:
    value = os.environ.get(match.group(1), "")
    register_secret(value)  # an expanded value may be a password: never echo it in a reason
    return value


def _expand_env(value: Any) -> Any:
    """``${VAR}`` in string values is read from the environment, so secrets stay out of the file.

    Every expanded value is registered as a secret: it is masked wherever it would surface
    (a password put into ``ref:`` would otherwise come back in "ref '…' not found")."""
    if isinstance(value, str):
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", _expand_var, value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


def build_target(raw: dict[str, Any], where: str = "", lines: dict | None = None,
                 base: tuple = ()) -> Target:
    lines = lines or {}
    common = {k: raw[k] for k in ("name", "kind", "labels", "timeout") if k in raw}
    try:
        head = TargetBase.model_validate(common)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, where, lines, base)) from None
    probe_cls = registry.probes().get(head.kind)
    if probe_cls is None:
        known = ", ".join(registry.probes()) or "none"
        raise ConfigError(f"{_where(where, lines, base + ('kind',))}: kind: no probe for kind "
                          f"{head.kind!r} (installed: {known})")
    if probe_cls.error:
        raise ConfigError(f"{_where(where, lines, base + ('kind',))}: kind: probe {head.kind!r} "
                          f"could not be loaded: {probe_cls.error}")
    rest = _expand_env({k: v for k, v in raw.items() if k not in common})
    try:
        settings = probe_cls.obj.settings_model.model_validate(rest)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, where, lines, base)) from None
    return Target(name=head.name, kind=head.kind, labels=dict(head.labels), settings=settings,
                  timeout=head.timeout)


def load(path: str | Path) -> AuditConfig:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
            raise ConfigError(f"{file}: refused: YAML aliases expand to more than "
                              f"{MAX_EXPANDED_NODES} values (an alias bomb?)")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: refused: YAML nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}:1: expected a mapping with a 'targets' list")
    lines = _line_index(node) if node is not None else {}
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, file, lines)) from None
    targets: list[Target] = []
    seen: set[str] = set()
    for i, raw in enumerate(model.targets):
        target = build_target(raw, file, lines, ("targets", i))
        if target.name in seen:
            raise ConfigError(f"{_where(file, lines, ('targets', i, 'name'))}: targets.{i}.name: "
                              f"duplicate target name {target.name!r}")
        seen.add(target.name)
        targets.append(target)
    if not targets:
        raise ConfigError(f"{_where(file, lines, ('targets',))}: targets: the list is empty")
    return AuditConfig(targets=targets, policy=Policy(tuple(model.policy.allowed_regions)),
                       settings=model.settings, waivers=list(model.waivers), source=file)


def targets_from_arguments(arguments: list[str]) -> list[Target]:
    """Positional CLI arguments: each probe is asked whether it understands the argument."""
    targets: list[Target] = []
    names: set[str] = set()
    for arg in arguments:
        for kind, item in registry.probes().items():
            if item.obj is None:
                continue
            raw = item.obj().target_from_argument(arg)
            if raw is None:
                continue
            name = base = raw.pop("name", None) or kind
            n = 2
            while name in names:
                name, n = f"{base}-{n}", n + 1
            names.add(name)
            targets.append(build_target({"name": name, "kind": kind, **raw}, arg))
            break
        else:
            raise ConfigError(f"{arg}: not a path or URL any installed probe understands")
    return targets
