"""Every context of a kubeconfig (or of the files ``KUBECONFIG`` lists, merged as kubectl
merges them: the first file naming a context wins). Only names are read from the file;
its credentials stay where they are, for the probe's client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from auditor.discovery.base import Found, Result, Selector, Spec
from auditor.probe import ProbeContext
from auditor.yamlload import load_user

NAME_FORMAT = "{context}"
FIELDS = ("context", "cluster")
GENERATED = ("context", "kubeconfig", "in_cluster", "snapshot")
#: a kubeconfig larger than this is not read (real ones are kilobytes)
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024


class KubeSpec(Spec):
    #: default: the files in $KUBECONFIG, else ~/.kube/config (what the client reads)
    kubeconfig: str | None = None
    #: globs over context names
    contexts: list[str] = ["*"]
    exclude: list[str] = []

    def selector(self) -> Selector:
        return Selector(tuple(self.contexts), tuple(self.exclude))


SPEC = KubeSpec


def describe(spec: KubeSpec) -> str:
    return f"contexts of {spec.kubeconfig or 'the default kubeconfig'}"


def placeholder(spec: KubeSpec) -> dict[str, Any]:
    return {"context": "placeholder", **({"kubeconfig": spec.kubeconfig} if spec.kubeconfig else {})}


def identity(settings: Any) -> tuple | None:
    get = settings.get if isinstance(settings, Mapping) else (lambda k: getattr(settings, k, None))
    if not get("context"):
        return None
    config = get("kubeconfig")
    return ("kubernetes", get("context"), os.path.realpath(config) if config else "")


def _files(spec: KubeSpec) -> tuple[list[str], bool]:
    """The kubeconfig files to read, and whether they were named explicitly."""
    if spec.kubeconfig:
        return [spec.kubeconfig], True
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return (listed or [os.path.expanduser("~/.kube/config")]), False


def _read(path: str) -> Any:
    with open(path, "rb") as fh:
        data = fh.read(MAX_KUBECONFIG_BYTES + 1)
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise ValueError(f"larger than {MAX_KUBECONFIG_BYTES // 2**20} MiB")
    return load_user(data.decode("utf-8"))


def discover(spec: KubeSpec, settings: Any, ctx: ProbeContext) -> Result:
    result = Result()
    files, explicit = _files(spec)
    contexts: dict[str, Mapping[str, Any]] = {}
    read = 0
    for path in files:
        try:
            doc = _read(path)
        except FileNotFoundError:
            if explicit or len(files) == 1:
                result.problems.append(f"kubeconfig {path}: cannot read: no such file")
            continue  # kubectl skips a missing file of a KUBECONFIG list
        except (OSError, UnicodeDecodeError) as exc:
            result.problems.append(f"kubeconfig {path}: cannot read: "
                                   f"{getattr(exc, 'strerror', None) or exc}")
            continue
        except Exception as exc:  # yaml.YAMLError, too deep, too large
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            result.problems.append(f"kubeconfig {path}: not a kubeconfig: {problem}")
            continue
        entries = doc.get("contexts") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            result.problems.append(f"kubeconfig {path}: not a kubeconfig: no 'contexts' list")
            continue
        read += 1
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name and name not in contexts:
                body = entry.get("context")
                contexts[name] = body if isinstance(body, dict) else {}
    if not read and not result.problems:
        result.problems.append(f"no kubeconfig found (looked at {', '.join(files)})")
    select = spec.selector()
    for name in sorted(contexts):
        if not select.wants((name,)):
            continue
        cluster = contexts[name].get("cluster")
        result.found.append(Found(
            fields={"context": name, "cluster": cluster if isinstance(cluster, str) else ""},
            subjects=(name,),
            settings={"context": name, **({"kubeconfig": spec.kubeconfig} if explicit else {})},
            key=name))
    return result
