"""assessment.json: the Assessment as it is, validated against the shipped JSON Schema in tests.

Top-level fields are indented; each item of a top-level list (an evidence record, a
capability result, a placement ...) is one compact line. That reads and diffs well, and it
uses the C encoder: ``indent=2`` over the whole document runs the pure-Python encoder, which
at a thousand repositories took three times the memory of the assessment itself. The result
is UTF-8 bytes, built item by item: one non-ASCII character in a Python string of the whole
report would store every character of it in two or four bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

# one encoder for every item: the one the Assessment stores its lists' items with
from auditor.assessment import Rows
from auditor.assessment import encode as _compact

#: items of a list encoded into one chunk (a fleet's lists hold a hundred thousand items)
BATCH = 256


class JsonReport:
    name = "json"
    filename = "assessment.json"

    def render(self, assessment: dict[str, Any]) -> bytes:
        return b"".join(self.chunks(assessment))

    def chunks(self, assessment: dict[str, Any]) -> Iterator[bytes]:
        """The report a piece at a time, for the writer: a fleet's report (18 MB at a thousand
        repositories) is never held whole, nor twice while it is joined. A list an
        :class:`~auditor.assessment.Assessment` keeps in its database is written as stored."""
        yield b"{\n"
        for n, (key, value) in enumerate(assessment.items()):
            yield b"%s  %s: " % (b",\n" if n else b"", json.dumps(key).encode())
            if isinstance(value, Rows) and not value:
                value = []
            if isinstance(value, (list, Rows)) and value:
                texts = (assessment.texts(key) if isinstance(value, Rows)
                         else map(_compact, value))
                yield b"[\n"
                first = True
                while batch := list(islice(texts, BATCH)):
                    yield b"%s    %s" % (b"" if first else b",\n", ",\n    ".join(batch).encode())
                    first = False
                yield b"\n  ]"
            else:
                yield (json.dumps(value, indent=2, ensure_ascii=False)
                       .replace("\n", "\n  ").encode())
        yield b"\n}\n"
