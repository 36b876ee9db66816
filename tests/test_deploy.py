"""The deployment files of docs/deploy, checked without a cluster or a Docker engine.

Each Kubernetes manifest is deserialised into the ``kubernetes`` client's API models (what
the API server's schema would accept; a misspelt field is dropped by the models, so each
document must serialise back to itself) and the fields that matter are asserted: Indexed
completion for shards, the read-only ClusterRole, non-root pods on a read-only root
filesystem, the CLI called with the mounted configuration. The Dockerfile is read
statically (no engine here to build it): what it copies, installs, runs as and starts.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
KUBE = DEPLOY / "kubernetes"
CLUSTERROLE = ROOT / "docs" / "permissions" / "kubernetes-clusterrole.yaml"

kubernetes = pytest.importorskip("kubernetes")


class _Response:
    """What ``ApiClient.deserialize`` reads in clients before v35: an HTTP answer's body."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.data = json.dumps(doc)


def _deserialize(client: Any, doc: dict[str, Any], model: str) -> Any:
    """The API model of ``doc``, as the client builds it from an API server's answer."""
    if "content_type" in inspect.signature(client.deserialize).parameters:
        return client.deserialize(json.dumps(doc), model, "application/json")
    return client.deserialize(_Response(doc), model)


def _model_name(doc: dict[str, Any]) -> str:
    version = doc["apiVersion"].rsplit("/", 1)[-1]
    return version.capitalize() + doc["kind"]


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _normalise(value: Any) -> Any:
    """Quantities and ints the models keep as given; compare as text."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return str(value)


def load(path: Path) -> list[tuple[dict[str, Any], Any]]:
    """Every document of a manifest file with its API model, checked to round-trip."""
    from kubernetes.client import ApiClient

    client = ApiClient()
    out = []
    for doc in yaml.safe_load_all(path.read_text()):
        model = _deserialize(client, doc, _model_name(doc))
        back = _strip_none(client.sanitize_for_serialization(model))
        assert _normalise(back) == _normalise(doc), f"{path.name}: {doc['kind']} has fields the API does not know"
        out.append((doc, model))
    return out


def models(kind: str) -> list[Any]:
    return [m for f in sorted(KUBE.rglob("*.yaml")) for d, m in load(f) if d["kind"] == kind]


def by_name(kind: str, name: str) -> Any:
    (found,) = [m for m in models(kind) if m.metadata.name == name]
    return found


def test_every_manifest_is_valid_for_the_kubernetes_api_models():
    files = sorted(KUBE.rglob("*.yaml"))
    kinds = sorted({d["kind"] for f in files for d, _ in load(f)})
    assert kinds == ["ClusterRoleBinding", "ConfigMap", "CronJob", "Namespace",
                     "PersistentVolumeClaim", "ServiceAccount"]
    namespaced = [m for f in files for d, m in load(f)
                  if d["kind"] not in ("Namespace", "ClusterRoleBinding")]
    assert {m.metadata.namespace for m in namespaced} == {"mlops-auditor"}


def pod_specs() -> list[tuple[str, Any]]:
    return [(cj.metadata.name, cj.spec.job_template.spec.template.spec) for cj in models("CronJob")]


def test_pods_run_as_non_root_on_a_read_only_root_filesystem():
    for name, pod in pod_specs():
        assert pod.security_context.run_as_non_root is True, name
        assert pod.security_context.run_as_user and pod.security_context.run_as_user > 0, name
        assert pod.security_context.seccomp_profile.type == "RuntimeDefault", name
        assert pod.service_account_name == "mlops-auditor", name
        for c in (pod.init_containers or []) + pod.containers:
            sc = c.security_context
            assert sc.read_only_root_filesystem is True, (name, c.name)
            assert sc.allow_privilege_escalation is False, (name, c.name)
            assert sc.capabilities.drop == ["ALL"], (name, c.name)
            assert c.resources.requests and c.resources.limits, (name, c.name)
            mounts = {m.mount_path for m in c.volume_mounts}
            assert "/data" in mounts, (name, c.name)  # the only writable places: volumes


def test_the_service_account_is_bound_to_the_read_only_clusterrole():
    shipped = {d["kind"]: (d, m) for d, m in load(CLUSTERROLE)}
    role = shipped["ClusterRole"][0]
    binding = by_name("ClusterRoleBinding", "mlops-auditor-read")
    assert binding == shipped["ClusterRoleBinding"][1] or (
        binding.role_ref == shipped["ClusterRoleBinding"][1].role_ref
        and binding.subjects == shipped["ClusterRoleBinding"][1].subjects)  # one binding, not two
    assert binding.role_ref.kind == "ClusterRole" and binding.role_ref.name == role["metadata"]["name"]
    (subject,) = binding.subjects
    account = by_name("ServiceAccount", "mlops-auditor")
    assert (subject.kind, subject.name, subject.namespace) == (
        "ServiceAccount", account.metadata.name, account.metadata.namespace)
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert verbs == {"list"} and "secrets" not in resources and "configmaps" not in resources


def _config_file(pod: Any, container: Any, path: str) -> str:
    """The text the container reads at ``path``, through its ConfigMap volume."""
    mount = next(m for m in container.volume_mounts if path.startswith(m.mount_path.rstrip("/") + "/"))
    volume = next(v for v in pod.volumes if v.name == mount.name)
    assert volume.config_map is not None and mount.read_only
    key = path[len(mount.mount_path.rstrip("/")) + 1:]
    return by_name("ConfigMap", volume.config_map.name).data[key]


def test_the_cronjob_runs_audit_with_the_mounted_config(tmp_path, monkeypatch):
    cron = by_name("CronJob", "mlops-audit")
    assert cron.spec.concurrency_policy == "Forbid" and cron.spec.schedule
    pod = cron.spec.job_template.spec.template.spec
    (c,) = pod.containers
    assert c.command is None  # the image's ENTRYPOINT: mlops-auditor
    args = c.args
    assert args[0] == "audit" and "--quiet" in args
    config = args[args.index("--config") + 1]
    text = _config_file(pod, c, config)
    assert args[args.index("--out") + 1].startswith("/data/")
    assert args[args.index("--cache-dir") + 1].startswith("/data/")
    claim = next(v for v in pod.volumes if v.name == "data").persistent_volume_claim.claim_name
    assert by_name("PersistentVolumeClaim", claim)
    # the shipped audit.yaml is a valid configuration (its ${VAR}s come from the pod's env)
    from auditor.config import load as load_config

    names = {e.name for e in c.env}
    for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
        assert var in names
        monkeypatch.setenv(var, "from-a-secret")
    (tmp_path / "audit.yaml").write_text(text)
    cfg = load_config(tmp_path / "audit.yaml")
    assert {t.kind for t in cfg.targets} >= {"kubernetes", "git", "mlflow"}


def _script(container: Any) -> str:
    assert container.command == ["/bin/sh", "-c"]
    (script,) = container.args
    return script


def test_the_sharded_collection_is_an_indexed_job_using_the_completion_index():
    cron = by_name("CronJob", "mlops-audit-collect")
    job = cron.spec.job_template.spec
    assert job.completion_mode == "Indexed"
    assert job.completions == job.parallelism == 4
    (c,) = job.template.spec.containers
    words = shlex.split(_script(c))
    assert words[:3] == ["exec", "mlops-auditor", "collect"]
    assert words[words.index("--shard") + 1] == f"auto/{job.completions}"
    assert words[words.index("--config") + 1] == "/etc/mlops-auditor/audit.yaml"
    _config_file(job.template.spec, c, "/etc/mlops-auditor/audit.yaml")
    env = {e.name: e for e in c.env}
    assert env["JOB_COMPLETION_INDEX"].value_from.field_ref.field_path == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']")
    claim = next(v for v in job.template.spec.volumes if v.name == "data").persistent_volume_claim
    assert by_name("PersistentVolumeClaim", claim.claim_name).spec.access_modes == ["ReadWriteMany"]


def test_the_assess_step_waits_for_every_shard_then_assesses_the_same_folder():
    collect = by_name("CronJob", "mlops-audit-collect")
    assess = by_name("CronJob", "mlops-audit-assess")
    shards = collect.spec.job_template.spec.completions
    pod = assess.spec.job_template.spec.template.spec
    (wait,) = pod.init_containers
    assert {e.name: e.value for e in wait.env}["SHARDS"] == str(shards)
    assert "manifest-*-of-$SHARDS.json" in _script(wait)
    (c,) = pod.containers
    words = shlex.split(_script(c).split(" ; ")[-1])
    assert words[:3] == ["exec", "mlops-auditor", "assess"]
    collected = shlex.split(_script(collect.spec.job_template.spec.template.spec.containers[0]))
    assert words[3] == collected[collected.index("--out") + 1]  # the day's evidence folder
    assert assess.spec.schedule == collect.spec.schedule
    claim = next(v for v in pod.volumes if v.name == "data").persistent_volume_claim.claim_name
    assert claim == "mlops-audit-evidence"


def test_the_assess_step_removes_evidence_older_than_its_window_and_nothing_else(tmp_path):
    """Run as the pod runs it (on a copy of the volume): day folders older than KEEP_DAYS
    go, today's and the recent ones stay, and the reports beside them are not touched."""
    assess = by_name("CronJob", "mlops-audit-assess")
    (c,) = assess.spec.job_template.spec.template.spec.containers
    prune, _, rest = _script(c).rpartition(" ; ")
    assert rest.startswith("exec mlops-auditor assess")
    keep = int({e.name: e.value for e in c.env}["KEEP_DAYS"])
    data = tmp_path / "data"
    now = time.time()
    ages = {"2026-12-07": 0, "recent": keep - 1, "old": keep + 2, "ancient": 3 * keep}
    for name, days in ages.items():
        folder = data / "evidence" / name
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        os.utime(folder, (now - days * 86400, now - days * 86400))
    report = data / "report" / "history"
    report.mkdir(parents=True)
    os.utime(report, (now - 10 * keep * 86400,) * 2)
    subprocess.run(["/bin/sh", "-c", prune.replace("/data/", f"{data}/")], check=True,
                   env={**os.environ, "KEEP_DAYS": str(keep)})
    assert sorted(p.name for p in (data / "evidence").iterdir()) == ["2026-12-07", "recent"]
    assert report.is_dir()


def test_the_cli_takes_the_options_the_manifests_use():
    from click.testing import CliRunner

    from auditor.cli import cli

    runner = CliRunner()
    for command, options in (("audit", ["--config", "--out", "--cache-dir", "--format", "--quiet"]),
                             ("collect", ["--config", "--shard", "--out", "--cache-dir", "--quiet"]),
                             ("assess", ["--out", "--format", "--quiet"])):
        result = runner.invoke(cli, [command, "--help"])
        if command != "audit" and result.exit_code != 0:
            pytest.skip(f"'{command}' is not in this CLI yet")
        for option in options:
            assert option in result.output, (command, option)


# -- the image ---------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of docs/deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def test_the_image_copies_only_what_the_package_needs():
    sources = []
    for word, rest in dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            sources += rest.split()[:-1]
    assert sorted(s.rstrip("/") for s in sources) == sorted(
        ["pyproject.toml", "README.md", "auditor", "probes", "reports"])
    package = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(package["tool"]["setuptools"]["packages"]["find"]["include"]) == {
        "auditor*", "probes*", "reports*"}
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1:][:5] == ["!pyproject.toml", "!README.md", "!auditor/",
                                                  "!probes/", "!reports/"]


def test_the_image_installs_every_probe_with_lower_bounded_dependencies():
    runs = " ".join(rest for word, rest in dockerfile() if word == "RUN")
    assert re.search(r"pip install [^&]*\"\.\[all\]\"", runs)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert extras["all"] == ["mlops-auditor[mlflow,aws,kubernetes,dask]"]  # the image is a Dask worker too
    needed = project["dependencies"] + [d for e in ("mlflow", "aws", "kubernetes", "dask")
                                        for d in extras[e]]
    for requirement in needed:
        assert re.search(r">=\s*\d", requirement) and "<" not in requirement and "==" not in requirement, requirement


def test_the_image_runs_mlops_auditor_as_a_non_root_user():
    final = final_stage()
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) > 0
    (entry,) = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert json.loads(entry) == ["mlops-auditor"]
    runs = " ".join(rest for word, rest in final if word == "RUN")
    assert "git" in runs.split()  # the git probe needs the executable
    # the user the Kubernetes pods run as
    uid = int(users[-1].split(":")[0])
    assert {pod.security_context.run_as_user for _, pod in pod_specs()} == {uid}



def test_the_image_holds_bytecode_and_the_parsed_catalog_before_it_turns_read_only():
    final = final_stage()
    runs = [rest for word, rest in final if word == "RUN"]
    user = max(i for i, (word, _) in enumerate(final) if word == "USER")
    prepared = [i for i, (word, rest) in enumerate(final) if word == "RUN"
                and "python -m compileall" in rest and "python -m auditor.catalog" in rest]
    assert prepared and prepared[-1] < user, runs  # written as root, before the package is read-only

# -- CI ----------------------------------------------------------------------------------


def test_the_ci_workflow_is_scheduled_and_keeps_sarif_and_html():
    flow = yaml.safe_load((DEPLOY / "github-actions.yml").read_text())
    on = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    assert flow["permissions"]["security-events"] == "write"
    (job,) = flow["jobs"].values()
    steps = job["steps"]
    run = next(s["run"] for s in steps if "mlops-auditor audit" in s.get("run", ""))
    words = shlex.split(run)
    out = words[words.index("--out") + 1]
    formats = {words[i + 1] for i, w in enumerate(words) if w == "--format"}
    assert {"sarif", "html"} <= formats and words[words.index("--config") + 1] == "audit.yaml"
    sarif = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert sarif["with"]["sarif_file"] == f"{out}/mlops-audit.sarif"
    artifact = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert f"{out}/report.html" in artifact["with"]["path"].split()
    assert all(s.get("if") == "always()" for s in (sarif, artifact))
