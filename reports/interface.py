"""The one interface every report format implements."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


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
