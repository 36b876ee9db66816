"""audit.yaml: loading, validation with file/line/key errors, and targets from CLI arguments."""

from __future__ import annotations

import logging
import os
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import catalog, registry
from auditor.lazyre import lazy
from auditor.probe import Policy, Target
from auditor.redact import register_secret
from auditor.yamlload import TooDeep, compose_listing, safe_loader, streaming_loader

if TYPE_CHECKING:
    import yaml

#: Most YAML nodes a configuration may stand for once its aliases are expanded. A real
#: audit.yaml has a few thousand; an alias bomb ("billion laughs") has billions and would
#: make the line index, ``${VAR}`` expansion and validation walk every one of them.
MAX_EXPANDED_NODES = 100_000

#: What ``mlops-auditor audit`` reads when given neither targets nor ``--config``.
DEFAULT_CONFIG = "audit.yaml"

#: Target settings that name a local file or folder: a relative value is resolved against
#: the folder of the configuration file, so ``--config /etc/mlops-auditor/audit.yaml`` from
#: cron finds ``path: ../churn`` where its author meant. Also any key ending in these.
PATH_KEYS = frozenset({"path", "snapshot", "kubeconfig"})
PATH_SUFFIXES = ("_file", "_dir", "_path")

#: keys whose values name things (a repository's folder, its team, a cluster context, a
#: region): a ``${VAR}`` expanded into one is shown as it is, since masking it would blank the
#: report's own subjects (``team ***``, ``git+file://***/churn``). Anywhere else an expanded
#: value may be a password, and is masked (see :func:`_expand_env`).
NAMING_KEYS = frozenset({"name", "team", "root", "include", "exclude", "context", "contexts",
                         "namespace", "namespaces", "region", "regions"})

_VAR = lazy(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SCOPE = lazy(r"^(?:org|\*|team:[^\s:]+|target:[^\s:]+)$")


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


class _Strict(BaseModel):
    # defer_build: a model's validator is built on first use, so a run from CLI arguments
    # pays nothing for the audit.yaml models it never validates
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TargetBase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: str
    labels: dict[str, str] = {}
    timeout: float | None = Field(default=None, gt=0)


class PolicyModel(_Strict):
    allowed_regions: list[str] = []


class SettingsModel(_Strict):
    jobs: int | None = Field(default=None, ge=1)
    # where probes run: auto, threads, processes or dask://HOST:PORT (see auditor.executors)
    executor: str | None = None
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

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


class ConfigModel(_Strict):
    version: int = 1
    targets: list[dict[str, Any]]
    # factories, not instances: an instance here would build both validators at import
    policy: PolicyModel = Field(default_factory=PolicyModel)
    settings: SettingsModel = Field(default_factory=SettingsModel)
    waivers: list[WaiverModel] = []


@dataclass
class AuditConfig:
    """A loaded configuration: targets built and validated, policy, settings and waivers."""

    targets: list[Target]
    policy: Policy = field(default_factory=Policy)
    settings: SettingsModel = field(default_factory=SettingsModel)
    waivers: list[WaiverModel] = field(default_factory=list)
    source: str = "<arguments>"


@cache
def _loader() -> type:
    """SafeLoader (libyaml's when available) that leaves an impossible date (``2027-02-30``)
    as text, so validation reports it with its line instead of the YAML library raising a
    bare ValueError. Built on first use (PyYAML is imported then: a run from CLI arguments
    reads no audit.yaml)."""

    class _Loader(safe_loader()):  # type: ignore[misc]
        def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:
                return self.construct_scalar(node)

    _Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
    return _Loader


def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path in the YAML document to its 1-based line."""
    import yaml

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


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → X; ``list[X]`` → X (one level: what an index in a location steps into)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _keys_at(model: Any, loc: tuple) -> list[str]:
    """The keys a model accepts at location ``loc`` (for "did you mean")."""
    current = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if typing.get_origin(current) is list and args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            f = current.model_fields.get(part)
            current = f.annotation if f else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _suggest(word: str, known: list[str] | set[str] | tuple[str, ...]) -> str:
    import difflib  # only for a mistake: every run would pay for importing it

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _first_error(exc: ValidationError, file: str, lines: dict[tuple, int], base: tuple = (),
                 model: Any = None, extra_keys: tuple[str, ...] = ()) -> str:
    """One line for the most useful error: an unknown key before a missing one (a typo'd
    ``targts:`` is reported as unknown, with the key it resembles, not as ``targets``
    missing)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = base + tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        known = _keys_at(model, tuple(err["loc"][:-1])) if model is not None else []
        msg = "unknown key" + _suggest(str(err["loc"][-1]), [*known, *extra_keys])
    elif err["type"] == "missing":
        msg = "required key is missing"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{_where(file, lines, loc)}: {key}: {msg}{more}"


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes the document stands for with every alias expanded, counted without expanding
    (an alias is the same node object met twice, so sizes are memoised per node). Stops
    counting past ``limit``; iterative, so depth cannot exhaust the stack."""
    import yaml

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


def _expand_env(value: Any, file: str = "", lines: dict | None = None, loc: tuple = ()) -> Any:
    """``${VAR}`` in string values is read from the environment, so secrets stay out of the
    file; ``${VAR:-default}`` uses the default when VAR is unset or empty. An unset VAR with
    no default is an error naming the variable and the line: an empty string would only
    surface later as a misleading error, or as none.

    A value read from the environment is registered as a secret, masked wherever it would
    surface (a password put into ``ref:`` would otherwise come back in "ref '…' not found"),
    unless its key names a thing (:data:`NAMING_KEYS`, a label, a path)."""
    if isinstance(value, str):
        naming = _names_a_thing(loc)

        def expand(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            env = os.environ.get(name)
            if env:
                if not naming:
                    register_secret(env)  # an expanded value may be a password
                return env
            if default is not None:
                return default
            if env is None:
                key = ".".join(str(p) for p in loc) or "(top level)"
                raise ConfigError(f"{_where(file, lines or {}, loc)}: {key}: environment variable "
                                  f"{name} is not set (set it, or write ${{{name}:-default}})")
            return env
        return _VAR.sub(expand, value)
    # a container is copied only when something in it was expanded: a fleet's target list
    # is not held twice for the few values that name a variable
    if isinstance(value, dict):
        expanded = {k: _expand_env(v, file, lines, (*loc, k)) for k, v in value.items()}
        return value if all(expanded[k] is v for k, v in value.items()) else expanded
    if isinstance(value, list):
        items = [_expand_env(v, file, lines, (*loc, i)) for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _names_a_thing(loc: tuple) -> bool:
    """Whether the setting at ``loc`` names a thing rather than holding a value that may be a
    secret: a naming key, a path, or a label."""
    keys = [k for k in loc if isinstance(k, str)]
    if not keys:
        return False
    return keys[-1] in NAMING_KEYS or _is_path_key(keys[-1]) or "labels" in keys[:-1]


def _is_path_key(key: str) -> bool:
    return key in PATH_KEYS or key.endswith(PATH_SUFFIXES)


def _against(base: Path, value: str) -> str:
    """``value`` as a path: ``~`` expanded, a relative one joined to ``base``."""
    path = Path(value).expanduser()
    return value if path.is_absolute() else os.path.normpath(base / path)


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    return {k: _against(base, v) if isinstance(v, str) and v and _is_path_key(k) else v
            for k, v in raw.items()}


def framework_ref(name: str, base: Path | None = None) -> str:
    """A framework id, or a rubric file path (relative ones against ``base``), checked to
    exist: a misspelt path says "not found", not "unknown framework"."""
    if name in catalog.frameworks():
        return name
    looks_like_file = "/" in name or os.sep in name or name.endswith((".yaml", ".yml"))
    if not looks_like_file:
        return name  # load_framework names the built-in ones
    path = _against(base, name) if base is not None else name
    if not Path(path).is_file():
        raise ConfigError(f"framework file not found: {path}")
    return path


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
    rest = {k: v for k, v in raw.items() if k not in common}
    model = probe_cls.obj.settings_model
    try:
        settings = model.model_validate(rest)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, where, lines, base, model,
                                       tuple(TargetBase.model_fields))) from None
    return Target(name=head.name, kind=head.kind, labels=dict(head.labels), settings=settings,
                  timeout=head.timeout)


def _document(path: str | Path) -> tuple[dict[str, Any], str, dict[tuple, int]]:
    """An audit.yaml parsed safely: (data, file name, line of every key path)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    import yaml

    bomb = ConfigError(f"{file}: refused: YAML aliases expand to more than "
                       f"{MAX_EXPANDED_NODES} values (an alias bomb?)")
    lines: dict[tuple, int] = {}
    targets: list[Any] = []
    expanded = 0

    def target(index: int, node: yaml.Node) -> None:
        """One item of ``targets``, constructed as soon as it is read (see compose_listing)."""
        nonlocal expanded
        if index == 0 and targets:  # a second ``targets:`` key replaces the first, as in PyYAML
            targets.clear()
            for key in [k for k in lines if len(k) > 1 and k[0] == "targets"]:
                del lines[key]
        expanded += _expanded_size(node, MAX_EXPANDED_NODES - expanded)
        if expanded > MAX_EXPANDED_NODES:
            raise bomb
        item: dict[tuple, int] = {}
        _line_index(node, ("targets", index), item)
        # a key on its parent's line is found through the parent (see _where): a target
        # written on one line keeps one entry, not one per key
        lines.update((k, n) for k, n in item.items() if len(k) == 2 or item.get(k[:-1]) != n)
        targets.append(loader.construct_document(node))

    try:
        # parsed once, then constructed; its composer refuses absurd nesting (TooDeep)
        loader = streaming_loader(_loader())(text)
        try:
            node = compose_listing(loader, "targets", target)
            if node is not None and expanded + _expanded_size(node, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
                raise bomb
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except TooDeep:
        raise ConfigError(f"{file}: refused: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: refused: YAML nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}:1: expected a mapping with a 'targets' list")
    if targets:
        data["targets"] = targets
    return data, file, _line_index(node, (), lines)


def load(path: str | Path) -> AuditConfig:
    data, file, lines = _document(path)
    # top-level ``x-`` keys hold what the file's anchors refer to (``x-defaults: &git {...}``,
    # then ``- {<<: *git, name: a}``), as in Docker Compose files: read, not validated
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    data = _expand_env(data, file, lines)
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, file, lines, model=ConfigModel)) from None
    base = Path(path).resolve().parent
    targets: list[Target] = []
    seen: set[str] = set()
    generated: list[tuple[int, dict[str, Any]]] = []
    for i, raw in enumerate(model.targets):
        if "discover" in raw:  # expanded below, once every listed target is known
            generated.append((i, raw))
            continue
        target = build_target(_resolve_paths(raw, base), file, lines, ("targets", i))
        if target.name in seen:
            raise ConfigError(f"{_where(file, lines, ('targets', i, 'name'))}: targets.{i}.name: "
                              f"duplicate target name {target.name!r}")
        seen.add(target.name)
        targets.append(target)
    unseen = False
    if generated:
        from auditor import discovery  # imported only by configurations that discover

        targets = discovery.expand(targets, generated, base, file, lines)
        unseen = any(isinstance(t.settings, discovery.Undiscovered) for t in targets)
    if not targets:
        raise ConfigError(f"{_where(file, lines, ('targets',))}: targets: the list is empty")
    _check_waivers(model.waivers, targets, file, lines, unseen)
    return AuditConfig(targets=targets, policy=Policy(tuple(model.policy.allowed_regions)),
                       settings=_settings(model, base, file, lines), waivers=list(model.waivers),
                       source=file)


def _settings(model: ConfigModel, base: Path, file: str, lines: dict[tuple, int]) -> SettingsModel:
    """Settings with their paths (framework file, cache and history folders) against ``base``."""
    return model.settings.model_copy(update={
        "framework": _framework_setting(model.settings.framework, base, file, lines),
        **{k: _against(base, v) for k in ("cache_dir", "history_dir")
           if isinstance(v := getattr(model.settings, k), str) and v}})


@dataclass
class Overrides:
    """What ``assess --config`` takes from an audit.yaml: policy, settings, waivers, and each
    listed target's labels (its team) by name."""

    policy: Policy
    settings: SettingsModel
    waivers: list[WaiverModel]
    labels: dict[str, dict[str, str]]
    source: str


def load_overrides(path: str | Path, targets: list[Target]) -> Overrides:
    """The parts of an audit.yaml that apply to evidence already collected from ``targets``.
    Targets are not built: their other settings, and the ``${VAR}`` in them (credentials the
    assessing machine need not have), are not read; ``targets:`` may be left out (a waiver
    file). Waivers are checked against ``targets`` with the labels given here."""
    data, file, lines = _document(path)
    raw_targets = data.get("targets") or []
    if not isinstance(raw_targets, list):
        raise ConfigError(f"{_where(file, lines, ('targets',))}: targets: expected a list")
    rest = _expand_env({k: v for k, v in data.items() if k != "targets"}, file, lines)
    try:
        model = ConfigModel.model_validate({**rest, "targets": []})
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, file, lines, model=ConfigModel)) from None
    labels: dict[str, dict[str, str]] = {}
    for i, raw in enumerate(raw_targets):
        if not isinstance(raw, dict) or "name" not in raw or "discover" in raw:
            continue
        given = _expand_env(raw.get("labels") or {}, file, lines, ("targets", i, "labels"))
        try:
            head = TargetBase.model_validate({"name": raw["name"], "kind": str(raw.get("kind", "")),
                                              "labels": given})
        except ValidationError as exc:
            raise ConfigError(_first_error(exc, file, lines, ("targets", i))) from None
        labels[head.name] = dict(head.labels)
    relabelled = [Target(name=t.name, kind=t.kind, labels=labels.get(t.name, dict(t.labels)))
                  for t in targets]
    _check_waivers(model.waivers, relabelled, file, lines)
    return Overrides(policy=Policy(tuple(model.policy.allowed_regions)),
                     settings=_settings(model, Path(path).resolve().parent, file, lines),
                     waivers=list(model.waivers), labels=labels, source=file)


def _framework_setting(name: str, base: Path, file: str, lines: dict[tuple, int]) -> str:
    try:
        return framework_ref(name, base)
    except ConfigError as exc:
        where = _where(file, lines, ("settings", "framework"))
        raise ConfigError(f"{where}: settings.framework: {exc}") from None


def _check_waivers(waivers: list[WaiverModel], targets: list[Target], file: str,
                   lines: dict[tuple, int], unseen: bool = False) -> None:
    """A waiver names a catalogued capability and a scope that exists in this audit
    (``org``, ``team:<name>`` or ``target:<name>``): a misspelt one would otherwise be listed
    as if it were waiving something. ``unseen``: a discovery could not see everything, so a
    team or target it would have found is only warned about, not an error that stops the
    audit the failed discovery was meant to leave running."""
    capabilities = catalog.capabilities()
    teams = {t.team for t in targets if t.team}
    names = {t.name for t in targets}
    for i, w in enumerate(waivers):
        def fail(key: str, msg: str, i: int = i) -> None:
            raise ConfigError(f"{_where(file, lines, ('waivers', i, key))}: waivers.{i}.{key}: {msg}")

        if w.capability not in capabilities:
            fail("capability", f"unknown capability {w.capability!r}"
                 + _suggest(w.capability, list(capabilities)))
        if not _SCOPE.match(w.scope):
            fail("scope", f"{w.scope!r} is not a scope (org, team:<name> or target:<name>)")
        kind, _, name = w.scope.partition(":")
        if unseen and (kind, name) not in {("team", t) for t in teams} | {("target", n) for n in names}:
            logging.getLogger("mlops_auditor.config").warning(
                "%s: waivers.%d.scope: %s not found, perhaps among what discovery could not see",
                _where(file, lines, ("waivers", i, "scope")), i, w.scope)
            continue
        if kind == "team" and name not in teams:
            fail("scope", f"no target has labels.team {name!r}" + _suggest(name, teams))
        if kind == "target" and name not in names:
            fail("scope", f"no target named {name!r}" + _suggest(name, names))


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
