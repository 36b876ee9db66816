"""YAML reading with libyaml when PyYAML has it.

The C loader reads the catalog about ten times faster than the pure-Python one and builds
the same safe types. Its composer recurses in C without Python's recursion check, though:
a document nested some ten thousand levels deep (``[[[[…``, a few kilobytes) crashes the
interpreter instead of raising. Text from outside the package (a rubric, a kubeconfig, a
mapping file, a repository's files, a cluster snapshot) is therefore first walked as an
event stream — iterative, no recursion — and refused past :data:`MAX_DEPTH`
(:func:`refuse_deep`); only the catalog shipped with the package skips that. audit.yaml is
composed by PyYAML's own composer over libyaml's events (:func:`streaming_loader`), which
counts the depth as it goes and needs no pass of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

#: deepest nesting of mappings and sequences read from a user's file; real files stay
#: under ten, and the pure-Python loader gives up near 300 anyway
MAX_DEPTH = 200


class TooDeep(ValueError):
    """The document nests deeper than :data:`MAX_DEPTH`."""


@cache
def safe_loader() -> type:
    """The fastest safe loader available (libyaml's, else PyYAML's own). PyYAML is imported
    here, on first use: its import (about 10 ms) is not paid by a run that reads no YAML."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_depth(text: str, loader: type | None = None, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeep` when ``text`` nests deeper than ``limit`` (stops reading there);
    syntax errors surface as the usual ``yaml.YAMLError``."""
    import yaml

    opening = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    closing = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader or safe_loader()):
            if isinstance(event, opening):
                depth += 1
                if depth > limit:
                    raise TooDeep(f"nested more than {limit} levels deep")
            elif isinstance(event, closing):
                depth -= 1
    except TooDeep:
        raise
    except yaml.YAMLError as exc:
        if _libyaml_too_deep(exc):
            raise TooDeep(f"nested more than {limit} levels deep") from None
        raise


def _libyaml_too_deep(exc: Exception) -> bool:
    """Whether a parse error is newer libyaml's (PyYAML 6.0.4) own nesting limit: its
    scanner reads ahead, so it can stop there before a composer counting the depth has."""
    return "nesting depth" in str(exc)


def refuse_deep(text: str, loader: type | None = None, limit: int = MAX_DEPTH) -> None:
    """:func:`check_depth` for text that could nest past ``limit``: only flow collections
    (``[``, ``{``) and the block indicators that nest on one line (``- - - x``, ``? ``) open
    a level in a couple of bytes; any other level costs a line indented further, so a file of
    bounded size cannot reach the depth that crashes libyaml that way. A file with fewer such
    marks than ``limit`` (most of them) is not parsed twice. For files read in bulk (a
    repository's, a snapshot's); :func:`load_user` checks every document."""
    marks = (text.count("[") + text.count("{") + text.count("- ") + text.count("-\t")
             + text.count("? "))
    if marks > limit:
        check_depth(text, loader, limit)


def load_trusted(text: str) -> Any:
    """A YAML document shipped with the package (the catalog)."""
    import yaml

    return yaml.load(text, Loader=safe_loader())


def load_user(text: str) -> Any:
    """A YAML document a user wrote (a rubric, a kubeconfig, a mapping file), refused past
    :data:`MAX_DEPTH` (always checked: these are small, and the limit is the contract)."""
    import yaml

    check_depth(text)
    return yaml.load(text, Loader=safe_loader())


def compose_listing(loader: Any, key: str, on_item: Callable[[int, Any], None]) -> Any:
    """Compose a document whose root is a mapping, handing each item of the sequence under
    ``key`` to ``on_item(index, node)`` as soon as it is composed instead of keeping it: the
    root node comes back without that key. An audit.yaml listing thousands of targets then
    never holds every target's nodes at once (about 4 KB a target, with their marks); what
    the items are made of is the caller's to keep.

    ``loader`` is an instance of :func:`streaming_loader`'s class; the document is read as
    :meth:`get_single_node` reads it (anchors, aliases and merge keys included), and any
    other shape of document (not a mapping, an anchored or tagged list) is composed whole.
    Nesting past :data:`MAX_DEPTH` raises :class:`TooDeep`. Returns None for an empty
    document."""
    import yaml

    try:
        return _compose_listing(loader, key, on_item)
    except yaml.YAMLError as exc:
        if _libyaml_too_deep(exc):
            raise TooDeep(f"nested more than {MAX_DEPTH} levels deep") from None
        raise


def _compose_listing(loader: Any, key: str, on_item: Callable[[int, Any], None]) -> Any:
    import yaml

    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        loader.get_event()
        return None
    document = loader.get_event()
    start = loader.peek_event()
    if not (isinstance(start, yaml.MappingStartEvent) and start.anchor is None
            and start.tag in (None, "!")):
        root = loader.compose_node(None, None)
    else:
        loader.get_event()
        loader.depth = 1  # the root mapping
        root = yaml.MappingNode(loader.resolve(yaml.MappingNode, None, start.implicit), [],
                                start.start_mark, None, flow_style=start.flow_style)
        while not loader.check_event(yaml.MappingEndEvent):
            name = loader.compose_node(root, None)
            listing = loader.peek_event()
            if (isinstance(name, yaml.ScalarNode) and name.value == key
                    and isinstance(listing, yaml.SequenceStartEvent) and listing.anchor is None
                    and listing.tag in (None, "!")):
                loader.get_event()
                loader.depth = 2  # and the listing in it
                index = 0
                while not loader.check_event(yaml.SequenceEndEvent):
                    on_item(index, loader.compose_node(None, index))
                    index += 1
                loader.depth = 1
                end = loader.get_event()
                value = yaml.SequenceNode(loader.resolve(yaml.SequenceNode, None, listing.implicit),
                                          [], listing.start_mark, end.end_mark,
                                          flow_style=listing.flow_style)
            else:
                value = loader.compose_node(root, name)
            root.value.append((name, value))
        root.end_mark = loader.get_event().end_mark
    loader.get_event()  # document end
    if not loader.check_event(yaml.StreamEndEvent):
        raise yaml.composer.ComposerError("expected a single document in the stream",
                                          document.start_mark, "but found another document",
                                          loader.get_event().start_mark)
    loader.get_event()
    return root


@cache
def streaming_loader(base: type) -> type:
    """``base`` (a safe loader class) with PyYAML's own composer, whose steps
    :func:`compose_listing` drives one node at a time (libyaml's composes a whole document in
    one call); the events still come from ``base``'s parser. The composer counts how deep it
    is and raises :class:`TooDeep` past :data:`MAX_DEPTH`: libyaml's composer, which would
    crash on absurd nesting, is never used, so the text needs no depth pass of its own."""
    import yaml
    from yaml.composer import Composer

    opening = (yaml.MappingStartEvent, yaml.SequenceStartEvent)

    class Streaming(*((base,) if issubclass(base, Composer) else (Composer, base))):  # type: ignore[misc]
        def __init__(self, stream: Any) -> None:
            base.__init__(self, stream)
            Composer.__init__(self)
            self.depth = 0  # mappings and sequences open (compose_listing opens the root's)

        def compose_node(self, parent: Any, index: Any) -> Any:
            if not self.check_event(*opening):
                return super().compose_node(parent, index)
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise TooDeep(f"nested more than {MAX_DEPTH} levels deep")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Streaming
