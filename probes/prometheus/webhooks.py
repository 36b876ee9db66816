"""Does a webhook URL start a pipeline or workflow? And how to show it without its secrets.

A webhook receiver that starts a pipeline (Argo Events/Workflows, GitHub repository or
workflow dispatch, Jenkins, GitLab pipeline triggers, Tekton, Kubeflow, Airflow, a Lambda or
SageMaker pipeline URL) is alert-driven remediation.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from auditor.redact import register_secret


@dataclass(frozen=True)
class Trigger:
    system: str  # "github", "argo-events", ...
    action: str  # "repository_dispatch", "workflow_dispatch", "pipeline_trigger", ...


# (system, action, host regex or None, path regex or None); first match wins
_RULES: list[tuple[str, str, str | None, str | None]] = [
    ("github", "workflow_dispatch", None, r"/repos/[^/]+/[^/]+/actions/workflows/[^/]+/dispatches/?$"),
    ("github", "repository_dispatch", None, r"/repos/[^/]+/[^/]+/dispatches/?$"),
    ("gitlab", "pipeline_trigger", None, r"/api/v4/projects/[^/]+/(ref/[^/]+/)?trigger/pipeline/?$"),
    ("gitlab", "pipeline", None, r"/api/v4/projects/[^/]+/pipeline/?$"),
    ("jenkins", "build", None, r"/(job/[^/]+/)+(build|buildWithParameters)/?$"),
    ("jenkins", "build", None, r"/(buildByToken/(build|buildWithParameters)|generic-webhook-trigger/invoke)/?$"),
    ("argo-workflows", "event", None, r"/api/v1/events/[^/]+/[^/]+/?$"),
    ("argo-workflows", "submit", None, r"/api/v1/workflows/[^/]+(/submit)?/?$"),
    ("argo-events", "webhook", r"(^|[.-])(eventsource|argo-events)([.-]|$)", None),
    ("tekton", "event_listener", r"^el-[^.]+\.", None),
    ("kubeflow-pipelines", "run", None, r"/apis/v[12](beta1)?/runs/?$"),
    ("airflow", "dag_run", None, r"/api/v[12]/dags/[^/]+/dag[Rr]uns/?$"),
    ("azure-devops", "pipeline_run", None, r"/_apis/(pipelines/[^/]+/runs|public/distributedtask/webhooks/[^/]+)/?$"),
    ("circleci", "pipeline", r"circleci\.com$", r"/pipeline/?$"),
    ("aws-lambda", "invoke", r"\.lambda-url\.[a-z0-9-]+\.on\.aws$", None),
    ("aws-lambda", "invoke", r"^lambda\.[a-z0-9-]+\.amazonaws\.com$", r"/functions/[^/]+/invocations"),
    ("sagemaker", "pipeline", r"sagemaker", r"pipeline"),
    ("aws-api-gateway", "pipeline", r"\.execute-api\.[a-z0-9-]+\.amazonaws\.com$",
     r"(retrain|pipeline|train|rollback|remediat)"),
]
_COMPILED = [(s, a, re.compile(h, re.I) if h else None, re.compile(p, re.I) if p else None)
             for s, a, h, p in _RULES]
#: last resort: a path that says what it does
_GENERIC = re.compile(r"(^|[/_-])(retrain\w*|rollback|remediat\w*|trigger[/_-]?pipeline|"
                      r"pipelines?[/_-]?trigger|start[/_-]?pipeline)([/_.-]|$)", re.I)
_TOKENISH = re.compile(r"[A-Za-z0-9_]{16,}")
_SECRET_KEY = re.compile(r"token|secret|key|pass|sig|auth|code|cred", re.I)


def detect(url: str) -> Trigger | None:
    """The pipeline system a webhook URL starts, or None for a plain notification."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    for system, action, host_rx, path_rx in _COMPILED:
        if host_rx is not None and not host_rx.search(host):
            continue
        if path_rx is not None and not path_rx.search(path):
            continue
        return Trigger(system, action)
    if _GENERIC.search(path):
        return Trigger("generic", "webhook")
    return None


def _secretish(segment: str) -> bool:
    run = _TOKENISH.search(segment)
    if run is None:
        return False
    value = run.group(0)
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def safe_url(url: str) -> str:
    """``scheme://host/path`` without credentials, query or fragment; path segments that look
    like tokens (Slack-style ``/services/T…/B…/XXXX``) are masked. Everything dropped is
    registered as a secret so it cannot surface elsewhere either."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        register_secret(urllib.parse.unquote(parts.password))
    if parts.username and len(parts.username) >= 16:
        register_secret(urllib.parse.unquote(parts.username))
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=False):
        if _SECRET_KEY.search(key) or (len(value) >= 12 and _secretish(value)):
            register_secret(value)
    segments = []
    for segment in parts.path.split("/"):
        if _secretish(segment):
            register_secret(segment)
            segments.append("***")
        else:
            segments.append(segment)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    shown = f"{parts.scheme}://{host}{'/'.join(segments)}"
    return shown + ("?…" if parts.query else "")
