"""SageMaker endpoints (InService = operating), their data capture, autoscaling targets,
and who created them where CloudTrail still holds the event."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from auditor.evidence import Strength as S
from auditor.refs import model_key, parse_image
from probes.aws.scan import Scan, _aware

MAX_ENDPOINTS = 500
CI_NAMES = re.compile(r"(?i)(ci|cd|codebuild|codepipeline|deploy|pipeline|github|gitlab|jenkins|"
                      r"automation|cdk|cloudformation|terraform|atlantis|spacelift)")


def collect(scan: Scan) -> None:
    endpoints = [r.get("Endpoint") or {} for r in scan.pages(
        "sagemaker", "Search", "Results", ("serving",), max_items=MAX_ENDPOINTS,
        Resource="Endpoint", SortBy="CreationTime", SortOrder="Descending")]
    scaled = _autoscaled(scan)
    if not endpoints:
        return
    creators = _creators(scan)
    served = _served_models(scan)
    scan.evidence("tool.serving", S.CONFIGURED, _arn(scan, endpoints[0]), tool="sagemaker",
                  feature="endpoints", endpoints=len(endpoints))
    for ep in endpoints:
        name, arn = ep.get("EndpointName", ""), _arn(scan, ep)
        status = ep.get("EndpointStatus")
        variants = ep.get("ProductionVariants") or []
        capture = (ep.get("DataCaptureConfig") or {}).get("EnableCapture")
        serverless = any(v.get("CurrentServerlessConfig") for v in variants)
        scan.evidence("serving.deployment", S.OPERATING if status == "InService" else S.CONFIGURED,
                      arn, tool="sagemaker-endpoint", endpoint=name, status=status,
                      config=ep.get("EndpointConfigName"), variants=len(variants),
                      instances=sum(int(v.get("CurrentInstanceCount") or 0) for v in variants),
                      data_capture=bool(capture), serverless=serverless or None,
                      created_by=creators.get(name.lower()),
                      models=sorted(served.get(name.lower(), {}).get("models", ()))[:20] or None,
                      links_to=sorted(served.get(name.lower(), {}).get("keys", ()))[:20] or None)
        if status == "InService" and ep.get("LastModifiedTime"):
            age = (scan.env.now - _aware(ep["LastModifiedTime"])).total_seconds() / 86400
            with scan.env.lock:
                scan.env.ages["production_model"].append(age)
        policies = scaled.get(name.lower())
        if policies or serverless:
            scan.evidence("serving.autoscaling", S.CONFIGURED, arn, tool="sagemaker-endpoint",
                          endpoint=name, mode="serverless" if serverless else "application-autoscaling",
                          min_capacity=(policies or {}).get("min"),
                          max_capacity=(policies or {}).get("max"))


def _arn(scan: Scan, ep: dict[str, Any]) -> str:
    return ep.get("EndpointArn") or scan.arn("sagemaker",
                                             f"endpoint/{ep.get('EndpointName', '').lower()}")


def _autoscaled(scan: Scan) -> dict[str, dict[str, int]]:
    """endpoint name (lower case) -> capacity bounds, from Application Auto Scaling."""
    out: dict[str, dict[str, int]] = {}
    for t in scan.pages("application-autoscaling", "DescribeScalableTargets", "ScalableTargets",
                        ("serving.autoscaling",), ServiceNamespace="sagemaker"):
        parts = (t.get("ResourceId") or "").split("/")
        if len(parts) >= 2 and parts[0] == "endpoint":
            out[parts[1].lower()] = {"min": t.get("MinCapacity"), "max": t.get("MaxCapacity")}
    return out


def _served_models(scan: Scan) -> dict[str, dict[str, set[str]]]:
    """endpoint name (lower case) -> the models it serves and what they refer to (registered
    model groups, container images), from one Search over models (SageMaker's model dashboard:
    each record names the endpoints serving it) instead of two Describe calls per endpoint."""
    out: dict[str, dict[str, set[str]]] = {}
    for rec in scan.pages("sagemaker", "Search", "Results", (), max_items=1000,
                          quiet=("ValidationException",), Resource="Model",
                          what=f"models behind endpoints in {scan.region}"):
        endpoints, name, keys = model_links(rec.get("Model") or {})
        for ep in endpoints:
            slot = out.setdefault(ep.lower(), {"models": set(), "keys": set()})
            slot["models"].add(name)
            slot["keys"].update(keys)
    return out


def model_links(dashboard: dict[str, Any]) -> tuple[list[str], str, set[str]]:
    """(endpoint names, model name, link keys) of one model-dashboard search record."""
    model = dashboard.get("Model") or {}
    containers = [model.get("PrimaryContainer") or {}] + list(model.get("Containers") or [])
    keys: set[str] = set()
    for c in containers:
        package = c.get("ModelPackageName") or ""
        if ":model-package/" in package:
            group = package.split(":model-package/", 1)[1].split("/")[0]
            keys.add(model_key(group))
        if c.get("Image"):
            image = parse_image(str(c["Image"]))
            keys.update(image.keys if image else ())
    endpoints = [e.get("EndpointName", "") for e in dashboard.get("Endpoints") or []
                 if e.get("EndpointName")]
    return endpoints, model.get("ModelName", ""), keys


def _creators(scan: Scan) -> dict[str, str]:
    """endpoint name (lower case) -> "ci" | "person" | "role", from CreateEndpoint events."""
    out: dict[str, str] = {}
    for event in scan.pages("cloudtrail", "LookupEvents", "Events", (), max_items=100,
                            what=f"who created endpoints in {scan.region} (CloudTrail)",
                            LookupAttributes=[{"AttributeKey": "EventName",
                                               "AttributeValue": "CreateEndpoint"}],
                            StartTime=scan.env.now - timedelta(days=90), EndTime=scan.env.now):
        try:
            record = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            continue
        name = ((record.get("requestParameters") or {}).get("endpointName") or "").lower()
        if name and name not in out:
            out[name] = creator_kind(record.get("userIdentity") or {})
    return out


def creator_kind(identity: dict[str, Any]) -> str:
    kind = identity.get("type")
    if kind in ("IAMUser", "Root"):
        return "person"
    arn = identity.get("arn") or ""
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("userName", "")
    if "AWSReservedSSO" in arn or "AWSReservedSSO" in issuer:
        return "person"
    if identity.get("invokedBy", "").startswith("cloudformation") or CI_NAMES.search(issuer):
        return "ci"
    return "role"
