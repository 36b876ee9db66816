"""The one interface every report format implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Protocol

#: bytes gathered into one chunk by :func:`encoded`
CHUNK = 1 << 16


class Report(Protocol):
    #: name used with ``--format``
    name: ClassVar[str]
    #: file written under ``--out``
    filename: ClassVar[str]

    def render(self, assessment: dict[str, Any]) -> str | bytes:
        """The whole document as text (or bytes). Renderers only render: no I/O, no judging.

        A format may also define ``chunks(assessment)``, yielding the same bytes a piece at a
        time: the CLI then writes them as they are made, so a large report is never held
        whole (the JSON report does)."""
        ...


def encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """A text report's pieces (a template's ``generate``) as UTF-8 chunks of about
    :data:`CHUNK` bytes: the text is never held whole, nor the list of its pieces."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(batch).encode()
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode()
