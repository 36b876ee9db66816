"""YAML reading with libyaml when PyYAML has it.

The C loader reads the catalog about ten times faster than the pure-Python one and builds
the same safe types. Its composer recurses in C without Python's recursion check, though:
a document nested some ten thousand levels deep (``[[[[…``, a few kilobytes) crashes the
interpreter instead of raising. Text a user wrote (audit.yaml, a rubric, a kubeconfig, a
mapping file) is therefore first walked as an event stream — iterative, no recursion — and
refused past :data:`MAX_DEPTH`; only the catalog shipped with the package skips that.
"""

from __future__ import annotations

from typing import Any

import yaml

#: the fastest safe loader available (libyaml's, else PyYAML's own)
SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: deepest nesting of mappings and sequences read from a user's file; real files stay
#: under ten, and the pure-Python loader gives up near 300 anyway
MAX_DEPTH = 200

_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class TooDeep(yaml.YAMLError):
    """The document nests deeper than :data:`MAX_DEPTH`."""


def check_depth(text: str, loader: type = SafeLoader, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeep` when ``text`` nests deeper than ``limit`` (stops reading there);
    syntax errors surface as the usual ``yaml.YAMLError``."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > limit:
                    raise TooDeep(f"nested more than {limit} levels deep")
            elif isinstance(event, _CLOSE):
                depth -= 1
    except TooDeep:
        raise
    except yaml.YAMLError as exc:
        # newer libyaml (PyYAML 6.0.4) stops on its own nesting limit while reading ahead
        if "nesting depth" in str(exc):
            raise TooDeep(f"nested more than {limit} levels deep") from None
        raise


def load_trusted(text: str) -> Any:
    """A YAML document shipped with the package (the catalog)."""
    return yaml.load(text, Loader=SafeLoader)


def load_user(text: str) -> Any:
    """A YAML document from outside the package, refused when absurdly deep."""
    check_depth(text)
    return yaml.load(text, Loader=SafeLoader)
