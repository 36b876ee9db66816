"""CodePipeline and CodeBuild: CI pipelines, their deploy/test/approval steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.evidence import Strength as S
from probes.aws.scan import Scan

MAX_PIPELINES = 50  # pipelines whose definition is read per region (one GetPipeline each)
MAX_PROJECTS = 200
DEPLOY = re.compile(r"(?i)(create-endpoint|update-endpoint|\.deploy\(|sagemaker\S*\s+deploy|"
                    r"cdk\s+deploy|cloudformation\s+deploy|sam\s+deploy|terraform\s+apply|"
                    r"helm\s+upgrade|kubectl\s+apply)")
TEST = re.compile(r"(?i)\b(pytest|unittest|tox|nox|make\s+test)\b")
CI_SIGNALS = ("ci", "governance.approval")


def collect(scan: Scan) -> None:
    codepipelines(scan)
    codebuild(scan)


def codepipelines(scan: Scan) -> None:
    for i, p in enumerate(scan.pages("codepipeline", "ListPipelines", "pipelines", CI_SIGNALS,
                                     page_size=1000)):
        if i >= MAX_PIPELINES:
            break
        name = p.get("name", "")
        arn = scan.arn("codepipeline", name)
        got = scan.call("codepipeline", "GetPipeline", CI_SIGNALS, name=name) or {}
        stages = (got.get("pipeline") or {}).get("stages") or []
        actions = [a for st in stages for a in st.get("actions") or []]
        cats = {(a.get("actionTypeId") or {}).get("category") for a in actions}
        providers = sorted({(a.get("actionTypeId") or {}).get("provider") or "" for a in actions})
        scan.evidence("ci.pipeline", S.CONFIGURED, arn, tool="codepipeline", pipeline=name,
                      stages=[s.get("name") for s in stages][:20], providers=providers[:20])
        if "Deploy" in cats:
            scan.evidence("ci.deploy_step", S.CONFIGURED, arn, tool="codepipeline", pipeline=name,
                          providers=sorted({(a.get("actionTypeId") or {}).get("provider") or ""
                                            for a in actions
                                            if (a.get("actionTypeId") or {}).get("category") == "Deploy"}))
        if "Test" in cats:
            scan.evidence("ci.test_step", S.CONFIGURED, arn, tool="codepipeline", pipeline=name)
        if "Approval" in cats:
            scan.evidence("governance.approval", S.CONFIGURED, arn, tool="codepipeline",
                          pipeline=name, gate="manual-approval")


def _batches(names: list[str], size: int = 100) -> Iterator[list[str]]:
    for i in range(0, len(names), size):
        yield names[i:i + size]


def codebuild(scan: Scan) -> None:
    names = list(scan.pages("codebuild", "ListProjects", "projects", ("ci",),
                            max_items=MAX_PROJECTS))
    for batch in _batches(names):
        got = scan.call("codebuild", "BatchGetProjects", ("ci",), names=batch) or {}
        for proj in got.get("projects") or []:
            _project(scan, proj)


def _project(scan: Scan, proj: dict[str, Any]) -> None:
    name = proj.get("name", "")
    arn = proj.get("arn") or scan.arn("codebuild", f"project/{name}")
    spec = (proj.get("source") or {}).get("buildspec") or ""
    scan.evidence("ci.pipeline", S.CONFIGURED, arn, tool="codebuild", project=name,
                  source=(proj.get("source") or {}).get("type"))
    if DEPLOY.search(spec):
        scan.evidence("ci.deploy_step", S.CONFIGURED, arn, tool="codebuild", project=name,
                      excerpt=DEPLOY.search(spec).group(0))
    if TEST.search(spec):
        scan.evidence("ci.test_step", S.CONFIGURED, arn, tool="codebuild", project=name)
