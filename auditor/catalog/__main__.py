"""``python -m auditor.catalog``: write the parsed-catalog cache (see
:class:`auditor.catalog.ParsedCache`), as an install step that leaves the package read-only."""

from auditor.catalog import warm

warm()
