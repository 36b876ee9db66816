"""YAML, JSON and TOML parsing that remembers line numbers, for locators that point at a line."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.yamlload import TooDeep, refuse_deep, safe_loader

if TYPE_CHECKING:
    import yaml


class LDict(dict):
    """A mapping with ``line`` (1-based) and ``key_lines`` for each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line) if hasattr(self, "key_lines") else self.line


class LList(list):
    line: int = 0
    item_lines: list[int]

    def line_at(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if index < len(lines) else self.line


def _map(loader: Any, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out = LDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _seq(loader: Any, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(n, deep=True) for n in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [n.start_mark.line + 1 for n in node.value]
    return out


@cache
def _loader() -> type:
    """The safe loader (libyaml's when available) building :class:`LDict`/:class:`LList`;
    made on first use, when PyYAML is imported (a repository without YAML never pays it)."""
    import yaml

    class _Loader(safe_loader()):  # type: ignore[misc]
        pass

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)
    # Unknown tags (!Ref, !GetAtt in CloudFormation, !reference in GitLab) become plain values.
    _Loader.add_multi_constructor("!", lambda loader, suffix, node: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
        else _seq(loader, node) if isinstance(node, yaml.SequenceNode) else _map(loader, node)))
    return _Loader


class ParseError(Exception):
    """Malformed file content; the message is one line with the line number when known."""


def load_yaml_all(text: str) -> list[Any]:
    import yaml

    try:
        refuse_deep(text, _loader())  # libyaml would crash, not raise, on absurd nesting
        return [d for d in yaml.load_all(text, Loader=_loader()) if d is not None]
    except TooDeep:
        raise ParseError("invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ParseError(f"invalid YAML: {where}{problem}") from None
    except RecursionError:
        raise ParseError("invalid YAML: nested too deeply") from None


def load_yaml(text: str) -> Any:
    docs = load_yaml_all(text)
    return docs[0] if docs else None


_JSONC_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*[\s\S]*?\*/')
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def load_json(text: str, comments: bool = False) -> Any:
    if comments:  # devcontainer.json is JSON with comments and trailing commas
        text = _JSONC_COMMENT.sub(lambda m: m.group(1) or "", text)
        text = _TRAILING_COMMA.sub(r"\1", text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply") from None


def load_toml(text: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"invalid TOML: {exc}") from None


def find_line(text: str, needle: str, start: int = 1) -> int:
    """1-based line of the first occurrence of ``needle`` at or after line ``start``; else start."""
    lines = text.splitlines()
    for i in range(max(start, 1) - 1, len(lines)):
        if needle in lines[i]:
            return i + 1
    return start
