"""The Jinja environment the Markdown and HTML reports render with."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def environment(**options: Any) -> Any:
    """A ``jinja2.Environment`` over ``reports/templates`` whose ``x.key`` on a dict reads
    the item first. Jinja tries the attribute first, and on the assessment's dicts
    (``c.status``, ``p.scope``) every such lookup failed and fell back to the item: half a
    million failed lookups for a thousand repositories' report. A dict method is still
    reached when no item has its name (``members.values()``)."""
    import jinja2

    class _Environment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return _Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                        undefined=jinja2.StrictUndefined, **options)
