"""CI/CD definitions: GitHub Actions, GitLab CI, Jenkins, Azure Pipelines, CircleCI, Bitbucket
Pipelines, AWS CodeBuild and Google Cloud Build. Jobs and steps are classified; bot-only and
security-scan-only workflows are not counted as CI/CD for the model.

Azure Pipelines and Cloud Build files are recognised by name and also by content (a YAML file
whose steps are ``task:``/``script:`` items, or whose top-level ``steps`` run builder images),
since real repositories keep them in folders such as ``.pipelines/`` or ``cloudbuild/``. A step
that runs ``make <target>`` is classified with the target's recipe from the Makefile, and a
Jenkins stage by its name as well as its commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence, Strength
from auditor.lazyre import lazy
from probes.git.declare import Detector, Files
from probes.git.detect.ci_classify import ML_KINDS, classify, image_refs
from probes.git.scan import Scan
from probes.git.tree import Entry
from probes.git.yamlines import LDict, LList, ParseError, load_json, load_yaml

C, D = Strength.CONFIGURED, Strength.DECLARED


@dataclass
class Step:
    """One step of a CI job: its text is what it is classified by."""

    job: str
    line: int
    text: str  # name + command + action, for classification
    with_: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workflow:
    """One CI workflow or pipeline file: how it is triggered, its steps and approvals."""

    system: str
    path: str
    line: int = 1
    triggers: set[str] = field(default_factory=set)
    crons: list[str] = field(default_factory=list)
    dispatch_types: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    jobs: int = 0
    approvals: list[tuple[str, int, str, Strength]] = field(default_factory=list)  # job, line, how


def _system(e: Entry) -> str | None:
    p, n = e.lower, e.name.lower()
    if p.startswith(".github/workflows/") and n.endswith((".yml", ".yaml")) and p.count("/") == 2:
        return "github_actions"
    if n == ".gitlab-ci.yml" or (p.startswith(".gitlab/ci/") and n.endswith((".yml", ".yaml"))):
        return "gitlab_ci"
    if n == "jenkinsfile" or n.startswith("jenkinsfile.") or n.endswith(".jenkinsfile"):
        return "jenkins"
    if n in ("azure-pipelines.yml", "azure-pipelines.yaml") or (
            p.startswith((".azure-pipelines/", ".azuredevops/")) and n.endswith((".yml", ".yaml"))):
        return "azure_pipelines"
    if p == ".circleci/config.yml" or p == ".circleci/config.yaml":
        return "circleci"
    if n == "bitbucket-pipelines.yml":
        return "bitbucket_pipelines"
    if re.fullmatch(r"buildspec([._-][\w.-]*)?\.ya?ml", n):
        return "aws_codebuild"
    if re.fullmatch(r"cloudbuild([._-][\w.-]*)?\.(ya?ml|json)", n):
        return "google_cloud_build"
    return None


def is_ci(e: Entry) -> bool:
    return _system(e) is not None


def detect(scan: Scan) -> Iterator[Evidence]:
    named = scan.find(is_ci)
    by_content = [scan.tree[p] for p in sorted(scan.grep_hits()) if p in scan.tree
                  and not is_ci(scan.tree[p])]
    make = _make_targets(scan)
    for entry in named + by_content:
        text = scan.text(entry)
        if text is None:
            continue
        system = _system(entry) or _system_by_content(text)
        if system is None:
            continue
        try:
            wf = PARSERS[system](entry.path, text)
        except ParseError as exc:
            scan.note(entry.path, str(exc))
            continue
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            scan.note(entry.path, f"unexpected {system} layout: {type(exc).__name__}")
            continue
        if wf is not None:
            for step in wf.steps:
                step.text = _with_make_recipes(step.text, make)
            yield from _emit(scan, wf)


def _system_by_content(text: str) -> str | None:
    """Azure Pipelines or Cloud Build recognised from the parsed structure, or None."""
    try:
        data = load_yaml(text)
    except ParseError:
        return None
    if not isinstance(data, dict):
        return None
    steps = data.get("steps")
    if isinstance(steps, list) and "jobs" not in data and steps and all(
            isinstance(s, dict) and "name" in s and ({"args", "entrypoint", "script", "id"} & set(s))
            for s in steps):
        return "google_cloud_build"
    azure_keys = {"script", "bash", "pwsh", "powershell", "task", "template", "job", "stage",
                  "deployment", "checkout"}
    for key in ("steps", "jobs", "stages"):
        items = data.get(key)
        if isinstance(items, list) and any(isinstance(i, dict) and azure_keys & set(i) for i in items):
            return "azure_pipelines"
    return None


_MAKE_RUN = lazy(r"\bmake\s+(?:-\S+\s+)*([A-Za-z0-9_.-]+)")


def _make_targets(scan: Scan) -> dict[str, str]:
    """Make target → its recipe text, from the root Makefile (steps that run ``make x``)."""
    entry = scan.tree.get("Makefile") or scan.tree.get("makefile") or scan.tree.get("GNUmakefile")
    text = scan.text(entry) if entry is not None else None
    if not text:
        return {}
    targets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.%-]+(?:\s+[A-Za-z0-9_.%-]+)*)\s*:(?!=)(.*)$", line)
        if m and not line.startswith("\t"):
            current = []
            for name in m.group(1).split():
                targets[name] = current
            current.append(m.group(2))  # prerequisites
        elif current is not None and line.startswith("\t"):
            current.append(line.strip())
        elif line.strip() and not line.startswith("#"):
            current = None
    return {k: " ".join(v) for k, v in targets.items()}


def _with_make_recipes(text: str, targets: dict[str, str]) -> str:
    if not targets or "make" not in text:
        return text
    extra = [targets[m.group(1)] for m in _MAKE_RUN.finditer(text) if m.group(1) in targets]
    return text + (" " + " ".join(extra) if extra else "")


# --- emission ------------------------------------------------------------------------------


def _emit(scan: Scan, wf: Workflow) -> Iterator[Evidence]:
    from auditor.refs import model_key  # imported once a workflow is read

    kinds = [(s, classify(s.text)) for s in wf.steps]
    set().union(*(k for _, k in kinds)) if kinds else set()
    scheduled = "schedule" in wf.triggers
    base = {"system": wf.system, "scheduled": scheduled}
    for step, k in kinds:
        if "security" in k:
            yield scan.ev("security.scanning", C, wf.path, step.line, step.text, tool=_first_word(step.text),
                          source="ci", system=wf.system, scheduled=scheduled)
    substantive = [(s, k) for s, k in kinds if _substantive(s, k)]
    if not substantive:
        return  # bot housekeeping or a security scan: not CI/CD for the model
    yield scan.ev("ci.pipeline", C, wf.path, wf.line, tool=wf.system, triggers=sorted(wf.triggers),
                  jobs=wf.jobs, steps=len(wf.steps), **base)
    ml = set()
    for step, k in substantive:
        attrs = {**base, "job": step.job}
        if "test" in k:
            yield scan.ev("ci.test_step", C, wf.path, step.line, step.text, **attrs)
        if "build_image" in k:
            yield from _build(scan, wf, step, attrs)
        if "train" in k:
            yield scan.ev("ci.train_step", C, wf.path, step.line, step.text, **attrs)
        if "evaluate" in k:
            yield scan.ev("ci.evaluate_step", C, wf.path, step.line, step.text, **attrs)
            if "gate" in k:
                yield scan.ev("validation.gate", C, wf.path, step.line, step.text, source="ci", **attrs)
        if "deploy" in k:
            yield scan.ev("ci.deploy_step", C, wf.path, step.line, step.text, **attrs)
        if "data_validation" in k:
            yield scan.ev("data_validation.check", C, wf.path, step.line, step.text, source="ci", **attrs)
        if "monitor" in k and scheduled:
            yield scan.ev("monitoring.model_job", C, wf.path, step.line, step.text, source="ci", **attrs)
        ml |= k & set(ML_KINDS)
        if "models:/" in step.text:
            for name in re.findall(r"models:/([A-Za-z0-9_.-]+)", step.text):
                yield scan.ev("ci.model_reference", C, wf.path, step.line, step.text,
                              links_to=[model_key(name)], **attrs)
    if scheduled and (ml or any("python" in s.text for s, _ in substantive)):
        # a schedule is retraining only when what it runs trains
        yield scan.ev("schedule.job", C, wf.path, wf.line, tool=wf.system, cron=wf.crons[:5],
                      kinds=sorted(ml), trains="train" in ml)
    if wf.dispatch_types or "repository_dispatch" in wf.triggers:
        trigger_text = " ".join(wf.dispatch_types) + " " + wf.path
        if re.search(r"retrain|drift|alert|rollback|degrad|monitor", trigger_text, re.I) and \
                ml & {"train", "deploy"}:
            yield scan.ev("remediation.trigger", C, wf.path, wf.line, tool=wf.system,
                          event="repository_dispatch", types=wf.dispatch_types[:10])
    for job, line, how, strength in wf.approvals:
        yield scan.ev("governance.approval", strength, wf.path, line, how, system=wf.system, job=job)


def _build(scan: Scan, wf: Workflow, step: Step, attrs: dict) -> Iterator[Evidence]:
    from auditor.refs import parse_image

    text = step.text
    tags = step.with_.get("tags")
    if isinstance(tags, str):
        text += " " + " ".join(f"-t {t.strip()}" for t in re.split(r"[\n,]", tags) if t.strip())
    if isinstance(step.with_.get("push"), (bool, str)) and str(step.with_["push"]).lower() == "true":
        text += " --push"
    refs, pushed = image_refs(text)
    images = [i for i in (parse_image(r) for r in refs) if i is not None]
    keys = sorted({i.key for i in images if i.key})
    yield scan.ev("ci.build_image", C, wf.path, step.line, step.text, pushed=pushed,
                  images=[i.raw for i in images][:10], link_keys=keys[:20], **attrs)
    for image in images:
        signal = "image.versioned" if image.versioned else "image.unversioned"
        yield scan.ev(signal, C, wf.path, step.line, image.raw, image=image.name, tag=image.tag,
                      dynamic_tag=image.dynamic_tag, source="ci")


def _first_word(text: str) -> str:
    from probes.git.detect.ci_classify import PATTERNS

    m = PATTERNS["security"].search(text.lower())
    return m.group(0) if m else "scanner"


_SETUP = lazy(r"^(\S+\s+)?(actions/(checkout|setup-\w+|cache|upload-artifact|download-artifact)"
              r"\S*|(python -m )?pip install[^&;|]*|apt-get[^&;|]*|npm (ci|install))\s*$")
_WORK = {"test", "build_image", "train", "evaluate", "deploy", "data_validation", "monitor"}


def _substantive(step: Step, kinds: set[str]) -> bool:
    """Work on the model code: not a scan, not bot housekeeping, not only environment set-up."""
    if kinds & {"security", "bot"}:
        return False
    if kinds & _WORK:
        return True
    text = step.text.strip().lower()
    return bool(text) and not all(_SETUP.match(part.strip()) for part in text.split("\n") if part.strip())


# --- parsers -------------------------------------------------------------------------------


def _line(mapping: Any, key: Any, default: int = 1) -> int:
    return mapping.line_of(key) if isinstance(mapping, LDict) else default


def _text(*parts: Any) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, list):
            out.extend(str(x) for x in p if isinstance(x, (str, int, float)))
    return " ".join(out)


def _github(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("workflow is not a mapping")
    on = data.get("on", data.get(True))
    wf = Workflow("github_actions", path, 1)
    if isinstance(on, str):
        wf.triggers.add(on)
    elif isinstance(on, list):
        wf.triggers.update(str(t) for t in on)
    elif isinstance(on, dict):
        wf.triggers.update(str(t) for t in on)
        for item in on.get("schedule") or []:
            if isinstance(item, dict) and item.get("cron"):
                wf.crons.append(str(item["cron"]))
        rd = on.get("repository_dispatch")
        if isinstance(rd, dict):
            wf.dispatch_types = [str(t) for t in rd.get("types") or []]
    wf.triggers = {_norm_trigger(t) for t in wf.triggers}
    jobs = data.get("jobs") or {}
    if not isinstance(jobs, dict):
        raise ParseError("'jobs' is not a mapping")
    wf.jobs = len(jobs)
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        env = job.get("environment")
        if env:
            env_name = env.get("name") if isinstance(env, dict) else env
            wf.approvals.append((str(name), _line(job, "environment"), f"environment: {env_name}", D))
        if job.get("uses"):  # reusable workflow call
            wf.steps.append(Step(str(name), _line(jobs, name), _text(job.get("uses"))))
        steps = job.get("steps") or []
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                continue
            line = steps.line_at(i) if isinstance(steps, LList) else _line(jobs, name)
            with_ = step.get("with") if isinstance(step.get("with"), dict) else {}
            body = _text(step.get("name"), step.get("run"), step.get("uses"),
                         " ".join(f"{k}: {v}" for k, v in with_.items() if isinstance(v, (str, bool))))
            wf.steps.append(Step(str(name), line, body, dict(with_)))
    return wf


def _norm_trigger(t: str) -> str:
    return {"workflow_dispatch": "manual", "pull_request": "pr", "pull_request_target": "pr",
            "merge_request_event": "pr", "web": "manual", "schedules": "schedule"}.get(t, t)


_GITLAB_RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services",
                    "cache", "before_script", "after_script", "types", "pages"}


def _gitlab(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("pipeline is not a mapping")
    wf = Workflow("gitlab_ci", path, 1, triggers={"push"})
    if re.search(r"CI_PIPELINE_SOURCE\s*==\s*['\"]?schedule|\bschedules\b", text):
        wf.triggers.add("schedule")
    if re.search(r"CI_PIPELINE_SOURCE\s*==\s*['\"]?merge_request_event|merge_requests", text):
        wf.triggers.add("pr")
    for name, job in data.items():
        if name in _GITLAB_RESERVED or str(name).startswith(".") or not isinstance(job, dict):
            continue
        wf.jobs += 1
        line = _line(data, name)
        body = _text(str(name), job.get("script"), job.get("before_script"), job.get("image")
                     if isinstance(job.get("image"), str) else None, job.get("trigger")
                     if isinstance(job.get("trigger"), str) else None)
        wf.steps.append(Step(str(name), line, body))
        if job.get("when") == "manual" or any(isinstance(r, dict) and r.get("when") == "manual"
                                              for r in job.get("rules") or []):
            wf.triggers.add("manual")
            wf.approvals.append((str(name), line, "when: manual", C))
        if job.get("environment"):
            env = job["environment"]
            env_name = env.get("name") if isinstance(env, dict) else env
            wf.approvals.append((str(name), line, f"environment: {env_name}", D))
    return wf


def _jenkins(path: str, text: str) -> Workflow | None:
    wf = Workflow("jenkins", path, 1, triggers={"push"})
    for m in re.finditer(r"cron\s*\(\s*['\"]([^'\"]+)['\"]", text):
        wf.triggers.add("schedule")
        wf.crons.append(m.group(1))
    stage = "pipeline"
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("//"):
            continue
        m = re.search(r"stage\s*\(\s*['\"]([^'\"]+)['\"]", line)
        if m:
            stage = m.group(1)
            wf.jobs += 1
            wf.steps.append(Step(stage, n, stage))  # a stage is classified by its name too
        m = re.search(r"\b(sh|bat|powershell)\s*\(?\s*(?:script:\s*)?(['\"]{1,3})(.+?)\2", line)
        if m:
            wf.steps.append(Step(stage, n, m.group(3)))
        if re.search(r"\binput\s*[({]|\binput\s+message", line):
            wf.approvals.append((stage, n, "input step", C))
    return wf


def _azure(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("pipeline is not a mapping")
    wf = Workflow("azure_pipelines", path, 1)
    if data.get("trigger", True) not in ("none", None, False):
        wf.triggers.add("push")
    if data.get("pr") not in (None, "none", False):
        wf.triggers.add("pr")
    for item in data.get("schedules") or []:
        if isinstance(item, dict) and item.get("cron"):
            wf.triggers.add("schedule")
            wf.crons.append(str(item["cron"]))

    def walk(node: Any, job: str) -> None:
        if isinstance(node, dict):
            name = str(node.get("job") or node.get("deployment") or node.get("stage") or job)
            if node.get("job") or node.get("deployment"):
                wf.jobs += 1
            if node.get("deployment") and node.get("environment"):
                wf.approvals.append((name, _line(node, "environment"), f"environment: {node['environment']}", D))
            steps = node.get("steps")
            if isinstance(steps, list):
                for i, step in enumerate(steps):
                    if not isinstance(step, dict):
                        continue
                    line = steps.line_at(i) if isinstance(steps, LList) else 1
                    task = str(step.get("task", ""))
                    if task.startswith("ManualValidation"):
                        wf.approvals.append((name, line, task, C))
                    inputs = step.get("inputs") if isinstance(step.get("inputs"), dict) else {}
                    body = _text(step.get("displayName"), step.get("script"), step.get("bash"),
                                 step.get("powershell"), task,
                                 " ".join(f"{k}: {v}" for k, v in inputs.items() if isinstance(v, str)))
                    wf.steps.append(Step(name, line, body))
            for key, value in node.items():
                if key != "steps":
                    walk(value, name)
        elif isinstance(node, list):
            for item in node:
                walk(item, job)

    walk({k: v for k, v in data.items() if k in ("stages", "jobs", "steps")}, "pipeline")
    return wf


def _circleci(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("config is not a mapping")
    wf = Workflow("circleci", path, 1, triggers={"push"})
    for _wname, wdef in (data.get("workflows") or {}).items():
        if not isinstance(wdef, dict):
            continue
        for trig in wdef.get("triggers") or []:
            cron = ((trig or {}).get("schedule") or {}).get("cron") if isinstance(trig, dict) else None
            if cron:
                wf.triggers.add("schedule")
                wf.crons.append(str(cron))
        for job in wdef.get("jobs") or []:
            if isinstance(job, dict):
                for jname, jconf in job.items():
                    if isinstance(jconf, dict) and jconf.get("type") == "approval":
                        wf.approvals.append((str(jname), _line(job, jname), "type: approval", C))
    jobs = data.get("jobs") or {}
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        wf.jobs += 1
        steps = job.get("steps") or []
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            line = steps.line_at(i) if isinstance(steps, LList) else _line(jobs, name)
            if isinstance(step, dict):
                run = step.get("run")
                body = _text(run if isinstance(run, str) else None,
                             *(run.get(k) for k in ("name", "command")) if isinstance(run, dict) else [],
                             *[k for k in step if k != "run"])
            else:
                body = str(step)
            wf.steps.append(Step(str(name), line, body))
    return wf


def _bitbucket(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("pipeline is not a mapping")
    wf = Workflow("bitbucket_pipelines", path, 1)
    pipelines = data.get("pipelines") or {}
    trigger_of = {"default": "push", "branches": "push", "tags": "tag", "pull-requests": "pr",
                  "custom": "manual"}

    def walk(node: Any, trigger: str) -> None:
        if isinstance(node, dict):
            step = node.get("step")
            if isinstance(step, dict):
                wf.jobs += 1
                name = str(step.get("name", "step"))
                wf.steps.append(Step(name, _line(node, "step"), _text(name, step.get("script"))))
                if step.get("trigger") == "manual":
                    wf.approvals.append((name, _line(node, "step"), "trigger: manual", C))
            for value in node.values():
                walk(value, trigger)
        elif isinstance(node, list):
            for item in node:
                walk(item, trigger)

    for key, value in pipelines.items():
        wf.triggers.add(trigger_of.get(key, key))
        walk(value, key)
    return wf


def _codebuild(path: str, text: str) -> Workflow | None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("buildspec is not a mapping")
    wf = Workflow("aws_codebuild", path, 1, triggers={"external"})
    for phase, body in (data.get("phases") or {}).items():
        if not isinstance(body, dict):
            continue
        wf.jobs += 1
        cmds = body.get("commands") or []
        for i, cmd in enumerate(cmds if isinstance(cmds, list) else []):
            line = cmds.line_at(i) if isinstance(cmds, LList) else 1
            wf.steps.append(Step(str(phase), line, str(cmd)))
    return wf


def _cloudbuild(path: str, text: str) -> Workflow | None:
    data = load_json(text) if path.endswith(".json") else load_yaml(text)
    if not isinstance(data, dict):
        raise ParseError("cloudbuild config is not a mapping")
    wf = Workflow("google_cloud_build", path, 1, triggers={"external"}, jobs=1)
    steps = data.get("steps") or []
    pushed = [str(i) for i in data.get("images") or []]
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        line = steps.line_at(i) if isinstance(steps, LList) else 1
        args = step.get("args") or []
        cmd = " ".join(str(a) for a in args) if isinstance(args, list) else str(args)
        name = str(step.get("name", ""))
        if "cloud-builders/docker" in name and args and str(args[0]) in ("build", "push"):
            cmd = "docker " + cmd + (" --push" if any(p in cmd for p in pushed) else "")
        body = _text(step.get("id"), name, step.get("entrypoint"), cmd, step.get("script"))
        wf.steps.append(Step(str(step.get("id", f"step-{i}")), line, body))
    return wf


PARSERS = {"github_actions": _github, "gitlab_ci": _gitlab, "jenkins": _jenkins,
           "azure_pipelines": _azure, "circleci": _circleci, "bitbucket_pipelines": _bitbucket,
           "aws_codebuild": _codebuild, "google_cloud_build": _cloudbuild}


DETECTOR = Detector(
    area="CI/CD",
    signals=("ci", "schedule", "security", "governance", "validation", "data_validation",
             "monitoring", "remediation", "image"),
    files=Files(names=frozenset({".gitlab-ci.yml", "bitbucket-pipelines.yml", "jenkinsfile",
                                 "azure-pipelines.yml", "azure-pipelines.yaml", "makefile",
                                 "gnumakefile"}),
                prefixes=("buildspec", "cloudbuild", "jenkinsfile."),
                suffixes=(".jenkinsfile",),
                dirs=(".github/workflows/", ".gitlab/ci/", ".circleci/", ".azure-pipelines/",
                      ".azuredevops/"),
                grep=(r"^\s*-\s*(task|script|bash|pwsh|powershell|template|stage|job)\s*:",
                      r"^steps\s*:", r"gcr\.io/cloud-builders"),
                grep_globs=("*.yml", "*.yaml")),
    run=lambda scan: detect(scan))
