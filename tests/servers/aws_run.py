"""Running the AWS probe in tests (shared by the test_aws*.py modules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.config import build_target
from auditor.evidence import Evidence, Unobserved
from auditor.probe import Policy, ProbeContext
from probes.aws import AwsProbe

SECRETS = ("moto-fake-secret-0001", "AKIAMOTOFAKE00000001")


class Result:
    def __init__(self, items: list[Evidence | Unobserved]) -> None:
        self.items = items
        self.evidence = [i for i in items if isinstance(i, Evidence)]
        self.unobserved = [i for i in items if isinstance(i, Unobserved)]

    def signals(self) -> set[str]:
        return {e.signal for e in self.evidence}

    def find(self, signal: str, **attrs: Any) -> list[Evidence]:
        return [e for e in self.evidence if e.signal == signal
                and all(e.attributes.get(k) == v for k, v in attrs.items())]

    def reasons(self) -> list[str]:
        return [u.reason for u in self.unobserved]

    def dump(self) -> str:
        return json.dumps([i.to_dict() for i in self.items], default=str)


def run_probe(url: str | None, tmp_path: Path, allowed: tuple[str, ...] = (),
              hooks: tuple = (), timeout: float = 120, **settings: Any) -> Result:
    raw = {"name": "acct", "kind": "aws", "regions": ["eu-west-1"], "max_attempts": 1,
           **settings}
    if url:
        raw["endpoint_url"] = url
    target = build_target(raw)
    ctx = ProbeContext(probe="aws", cache_dir=tmp_path, policy=Policy(allowed), timeout=timeout)
    return Result(list(AwsProbe(hooks=hooks).collect(target, ctx)))
