"""assessment.json: the Assessment as it is, validated against the shipped JSON Schema in tests."""

from __future__ import annotations

import json
from typing import Any


class JsonReport:
    name = "json"
    filename = "assessment.json"

    def render(self, assessment: dict[str, Any]) -> str:
        return json.dumps(assessment, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
