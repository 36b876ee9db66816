"""The one interface every report format implements."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


class Report(Protocol):
    #: name used with ``--format``
    name: ClassVar[str]
    #: file written under ``--out``
    filename: ClassVar[str]

    def render(self, assessment: dict[str, Any]) -> str:
        """The whole document as text. Renderers only render: no I/O, no judging."""
        ...
