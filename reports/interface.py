"""The one interface every report format implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol


class Report(Protocol):
    #: name used with ``--format``
    name: ClassVar[str]
    #: file written under ``--out``
    filename: ClassVar[str]

    def render(self, assessment: Mapping[str, Any]) -> str | bytes:
        """The whole document as text (or bytes). Renderers only render: no I/O, no judging.

        ``assessment`` is an :class:`auditor.assessment.Assessment` (a plain dict in some
        tests: ``reports.view.document`` makes either one): a mapping like the JSON
        document, whose long lists are sequences read from its database as they are
        iterated. Look items up with its methods (``capabilities_of``, ``placements_sorted``,
        ``evidence_by_ids`` ...) rather than indexing a whole list; ``to_dict()`` gives the
        plain document, at the cost of holding all of it.

        A format may also define ``chunks(assessment)``, yielding the same bytes a piece at a
        time: the CLI then writes them as they are made, so a large report is never held
        whole (the JSON report does; :func:`auditor.output.encoded` makes them of a
        template's pieces)."""
        ...
