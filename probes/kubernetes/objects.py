"""Small, defensive accessors over Kubernetes objects (plain dicts from JSON or YAML).

Objects come from live lists (where built-in kinds carry no ``kind``/``apiVersion``) and
from snapshot files; nothing here trusts the shape of what it reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

#: cap on how much of one object the container walker visits (very large objects)
WALK_NODES = 5000
WALK_DEPTH = 14
GPU_MARKERS = ("gpu",)  # nvidia.com/gpu, amd.com/gpu, gpu.intel.com/i915 ...


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    cur = obj
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or not -len(cur) <= p < len(cur):
                return default
            cur = cur[p]
        else:
            if not isinstance(cur, Mapping):
                return default
            cur = cur.get(p)
        if cur is None:
            return default
    return cur


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def name_of(obj: Mapping) -> str:
    return str(dig(obj, "metadata", "name", default="") or "")


def namespace_of(obj: Mapping) -> str:
    return str(dig(obj, "metadata", "namespace", default="") or "")


def labels_of(obj: Mapping, *path: str) -> dict[str, str]:
    labels = dig(obj, *(path or ("metadata",)), "labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


def owner_keys(obj: Mapping) -> set[tuple[str, str]]:
    """(API group, kind) of each owner: ``batch/v1 CronJob`` → ``("batch", "CronJob")``."""
    out = set()
    for o in as_list(dig(obj, "metadata", "ownerReferences")):
        if isinstance(o, Mapping):
            api_version = str(o.get("apiVersion") or "")
            out.add((api_version.rsplit("/", 1)[0] if "/" in api_version else "", str(o.get("kind"))))
    return out


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def condition_true(obj: Mapping, ctype: str) -> bool:
    return any(isinstance(c, Mapping) and c.get("type") == ctype and str(c.get("status")) == "True"
               for c in as_list(dig(obj, "status", "conditions")))


def to_int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return default
    return default


class NamespaceFilter:
    """include/exclude globs over namespace names; cluster-scoped objects always pass."""

    def __init__(self, include: list[str] | None, exclude: list[str] | None) -> None:
        self.include = list(include or ["*"])
        self.exclude = list(exclude or [])

    def allows(self, namespace: str) -> bool:
        if not namespace:
            return True
        if not any(fnmatchcase(namespace, g) for g in self.include):
            return False
        return not any(fnmatchcase(namespace, g) for g in self.exclude)


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector against a label set. An empty selector selects everything."""
    if not isinstance(selector, Mapping):
        return False
    for key, value in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = {str(v) for v in as_list(expr.get("values"))}
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def walk_containers(spec: Any) -> Iterator[tuple[str, dict]]:
    """Every dict in ``spec`` that names an ``image`` (containers of pod templates at any depth:
    Deployments, CronJobs, *ReplicaSpecs, Ray groups, Argo templates, Seldon componentSpecs),
    yielded as (container name, container). Bounded in depth and size."""
    budget = [WALK_NODES]

    def visit(node: Any, key: str, depth: int) -> Iterator[tuple[str, dict]]:
        if budget[0] <= 0 or depth > WALK_DEPTH:
            return
        budget[0] -= 1
        if isinstance(node, dict):
            if isinstance(node.get("image"), str):
                yield str(node.get("name") or key), node
            # an Argo template {name: train, container: {image}} names its container
            here = str(node["name"]) if isinstance(node.get("name"), str) else ""
            for k, v in node.items():
                if isinstance(v, (dict, list)) and k not in ("status", "metadata", "env"):
                    yield from visit(v, here or str(k), depth + 1)
        elif isinstance(node, list):
            for item in node:
                yield from visit(item, key, depth + 1)

    yield from visit(spec, "", 0)


def gpu_requests(spec: Any) -> tuple[int, str]:
    """Total GPUs requested by the containers/model specs in ``spec`` and the resource name."""
    total, names = 0, set()
    budget = [WALK_NODES]

    def visit(node: Any, depth: int) -> None:
        nonlocal total
        if budget[0] <= 0 or depth > WALK_DEPTH:
            return
        budget[0] -= 1
        if isinstance(node, dict):
            res = node.get("resources")
            if isinstance(res, Mapping):
                limits = as_dict(res.get("limits"))
                requests = as_dict(res.get("requests"))
                for rname in set(limits) | set(requests):
                    if any(m in str(rname).lower() for m in GPU_MARKERS):
                        n = to_int(limits.get(rname, requests.get(rname)), 0) or 0
                        if n > 0:
                            total += n
                            names.add(str(rname))
            for k, v in node.items():
                if isinstance(v, (dict, list)) and k not in ("status", "metadata"):
                    visit(v, depth + 1)
        elif isinstance(node, list):
            for item in node:
                visit(item, depth + 1)

    visit(spec, 0)
    return total, ",".join(sorted(names))


def capped(items: list[Any], limit: int = 20) -> list[Any]:
    return items[:limit]
