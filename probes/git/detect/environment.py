"""Reproducible environments: Dockerfiles, compose, devcontainers, conda files, lock files."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.scan import Scan
from probes.git.tree import Entry
from probes.git.yamlines import LDict, ParseError, load_json

C = Strength.CONFIGURED

LOCKFILES = {"poetry.lock": "poetry", "uv.lock": "uv", "pipfile.lock": "pipenv", "pdm.lock": "pdm",
             "conda-lock.yml": "conda-lock", "conda-lock.yaml": "conda-lock", "pixi.lock": "pixi",
             "requirements.lock": "rye", "package-lock.json": "npm", "yarn.lock": "yarn",
             "pnpm-lock.yaml": "pnpm", "cargo.lock": "cargo", "go.sum": "go"}


def is_dockerfile(e: Entry) -> bool:
    """``Dockerfile``, ``Dockerfile.gpu``, ``Dockerfile-serving``, ``serving.Dockerfile``."""
    n = e.name.lower()
    return (n in ("dockerfile", "containerfile") or n.startswith(("dockerfile.", "containerfile.",
                                                                  "dockerfile-", "containerfile-"))
            or n.endswith((".dockerfile", ".containerfile")))


def is_compose(e: Entry) -> bool:
    return bool(re.fullmatch(r"(docker-)?compose([.-][\w.-]+)?\.ya?ml", e.name.lower()))


def is_devcontainer(e: Entry) -> bool:
    p = e.lower
    return p.endswith("devcontainer.json") and (p.startswith(".devcontainer") or
                                                "/.devcontainer" in p or p == ".devcontainer.json")


def is_conda_env(e: Entry) -> bool:
    return bool(re.fullmatch(r"(environment|conda|env)([._-][\w.-]*)?\.ya?ml", e.name.lower())) and \
        not e.name.lower().startswith("conda-lock")


def is_lockfile(e: Entry) -> bool:
    n = e.name.lower()
    return n in LOCKFILES or n.endswith((".conda-lock.yml", ".conda-lock.yaml"))


def detect(scan: Scan) -> Iterator[Evidence]:
    for entry in scan.find(is_dockerfile):
        yield from _dockerfile(scan, entry)
    for entry in scan.find(is_compose):
        yield from _compose(scan, entry)
    for entry in scan.find(is_devcontainer):
        yield from _devcontainer(scan, entry)
    for entry in scan.find(lambda e: e.name.lower() == ".gitpod.yml"):
        yield scan.ev("compute.workspace", C, entry.path, 1, tool="gitpod")
    for entry in scan.find(is_lockfile):
        name = entry.name.lower()
        tool = LOCKFILES.get(name, "conda-lock")
        if tool in ("npm", "yarn", "pnpm", "cargo", "go"):
            continue  # not a Python/ML environment
        yield scan.ev("env.lockfile", C, entry.path, 1, tool=tool)
        if name in ("poetry.lock", "uv.lock", "pdm.lock", "pipfile.lock"):
            _lock_versions(scan, entry)


def _lock_versions(scan: Scan, entry: Entry) -> None:
    """Exact versions from a lock file, for the version-drift inventory of known tools."""
    from auditor.catalog import normalise_package, taxonomy

    text = scan.text(entry)
    if text is None:
        return
    try:
        if entry.name.lower() == "pipfile.lock":
            data = load_json(text)
            for section in ("default", "develop"):
                for name, spec in (data.get(section) or {}).items():
                    version = str((spec or {}).get("version", "")).lstrip("=")
                    if version:
                        scan.locked_versions.setdefault(normalise_package(name), version)
            return
        from probes.git.yamlines import load_toml

        data = load_toml(text)
    except (ParseError, AttributeError) as exc:
        scan.note(entry.path, str(exc))
        return
    known = taxonomy().by_package
    for pkg in data.get("package", []) or []:
        if isinstance(pkg, dict) and pkg.get("name") and pkg.get("version"):
            name = normalise_package(str(pkg["name"]))
            if name in known:
                scan.locked_versions.setdefault(name, str(pkg["version"]))


_FROM = lazy(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.I)
_ARG = lazy(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)", re.I)
_SERVE_CMD = lazy(r"mlflow\s+models\s+serve|bentoml\s+serve|torchserve|uvicorn|gunicorn|"
                  r"tritonserver|seldon|mlserver\s+start|kserve", re.I)


def _dockerfile(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    from auditor.refs import parse_image  # imported once a Dockerfile is read

    text = scan.text(entry)
    if text is None:
        return
    args: dict[str, str] = {}
    stages: set[str] = set()
    found = False
    for n, line in enumerate(text.splitlines(), 1):
        m = _ARG.match(line)
        if m:
            args[m.group(1)] = m.group(2).strip("'\"")
            continue
        m = _FROM.match(line)
        if not m:
            continue
        raw = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda v: args.get(v.group(1), v.group(0)),
                     m.group(1))
        if m.group(2):
            stages.add(m.group(2).lower())
        if raw.lower() in stages:
            continue
        found = True
        image = parse_image(raw)
        attrs = {"base_image": raw}
        if image and image.key:
            short = image.repo.removeprefix("library/") if image.repo else raw
            attrs.update(tool=f"base-image:{short}", version=image.tag or ("digest" if image.digest else "latest"),
                         links_to=[image.key])
        if re.search(r"cuda|nvidia|gpu", raw, re.I):
            attrs["gpu"] = True
        yield scan.ev("env.container_image", C, entry.path, n, line, **attrs)
    if not found and text.strip():
        scan.note(entry.path, "Dockerfile without a FROM line")
    m = _SERVE_CMD.search(text)
    if m:
        attrs = {"tool": "dockerfile", "command": m.group(0)}
        n = text[: m.start()].count("\n") + 1
        yield scan.ev("serving.container", C, entry.path, n, m.group(0), **attrs)


def _compose(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    from auditor.refs import parse_image

    data = scan.parsed(entry)
    if data is None:
        return
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return
    links = []
    for name, svc in services.items():
        if not isinstance(svc, LDict):
            continue
        line = services.line_of(name)
        image = parse_image(str(svc.get("image", ""))) if svc.get("image") else None
        if image and image.key:
            links.append(image.key)
        blob = f"{svc.get('image', '')} {svc.get('command', '')} {svc.get('entrypoint', '')}".lower()
        if "jupyter" in blob:
            yield scan.ev("compute.notebook_server", C, entry.path, line, f"{name}: {svc.get('image', '')}",
                          tool="jupyter", service=str(name))
        if re.search(r"mlflow\s+server|mlflow:|/mlflow", blob):
            yield scan.ev("tracking.server", C, entry.path, line, str(name), tool="mlflow", service=str(name))
        devices = str(((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or "") \
            if isinstance(svc.get("deploy"), dict) else ""
        if "nvidia" in devices or "gpu" in devices or "gpus" in svc:
            yield scan.ev("compute.gpu_workload", C, entry.path, line, str(name), source="compose",
                          service=str(name))
    yield scan.ev("env.compose", C, entry.path, data.line_of("services"), tool="docker-compose",
                  services=len(services), links_to=sorted(set(links))[:20])


def _devcontainer(scan: Scan, entry: Entry) -> Iterator[Evidence]:
    text = scan.text(entry)
    if text is None:
        return
    try:
        data = load_json(text, comments=True)
    except ParseError as exc:
        scan.note(entry.path, str(exc))
        return
    if not isinstance(data, dict):
        scan.note(entry.path, "devcontainer.json is not an object")
        return
    yield scan.ev("compute.workspace", C, entry.path, 1, tool="devcontainer",
                  image=data.get("image") if isinstance(data.get("image"), str) else None)
    host = data.get("hostRequirements")
    run_args = " ".join(str(a) for a in data.get("runArgs", []) if isinstance(a, str))
    if (isinstance(host, dict) and host.get("gpu")) or "--gpus" in run_args:
        yield scan.ev("compute.gpu_workload", C, entry.path, 1, source="devcontainer")


DETECTOR = Detector(
    area="environments",
    signals=("env", "compute", "tracking.server", "serving.container"),
    files=Files(names=frozenset({"dockerfile", "containerfile", ".gitpod.yml", ".devcontainer.json",
                                 *LOCKFILES}),
                prefixes=("dockerfile", "containerfile", "compose", "docker-compose"),
                suffixes=(".dockerfile", ".containerfile", "devcontainer.json", ".conda-lock.yml",
                          ".conda-lock.yaml")),
    run=lambda scan: detect(scan))
