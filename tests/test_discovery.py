"""Discovery: targets generated from a folder of repositories, a kubeconfig, an AWS
Organization and a registry's catalog — real repositories, the test Kubernetes API server,
moto in server mode (Organizations and STS) and the real registry."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.config import ConfigError, load
from auditor.discovery import Undiscovered
from tests.repos import make_repo

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def write(folder: Path, text: str, name: str = "audit.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load(path)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def by_name(cfg) -> dict:
    return {t.name: t for t in cfg.targets}


def bare(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def audit(config: Path, out: Path) -> dict:
    result = CliRunner().invoke(cli, ["audit", "--config", str(config), "--out", str(out),
                                      "--cache-dir", str(out / "cache"), "--no-history",
                                      "-q", "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "assessment.json").read_text())


# -- git ---------------------------------------------------------------------------------


@pytest.fixture
def srv(tmp_path: Path) -> Path:
    """A folder of repositories as a git server keeps them, with what must not be found."""
    root = tmp_path / "srv"
    make_repo(root / "ml" / "churn", {"train.py": "import mlflow\n"})
    make_repo(root / "ml" / "churn" / "vendor" / "lib", {"a.py": "x = 1\n"})  # inside a repo
    bare(root / "ml" / "models.git")
    bare(root / "risk" / "fraud.git")
    make_repo(root / "archive" / "old", {"a.py": "x = 1\n"})
    make_repo(root / ".cache" / "hidden", {"a.py": "x = 1\n"})
    make_repo(root / "a" / "b" / "c" / "d" / "e" / "f" / "deep", {"a.py": "x = 1\n"})
    (root / "notes").mkdir()
    (root / "notes" / "README").write_text("not a repository\n")
    (root / "ml-link").symlink_to(root / "ml")  # not followed
    return root


def test_git_finds_working_trees_and_bare_repositories_not_their_insides(srv: Path, tmp_path: Path):
    cfg = load(write(tmp_path, f"targets:\n  - kind: git\n    discover: {{root: {srv}}}\n"))
    assert sorted(by_name(cfg)) == ["archive-old", "ml-churn", "ml-models", "risk-fraud"]
    t = by_name(cfg)
    assert t["ml-models"].settings.path == str(srv / "ml" / "models.git")
    assert t["ml-churn"].settings.path == str(srv / "ml" / "churn")
    assert all(NAME.match(n) and "/" not in n for n in t)


def test_git_depth_include_exclude_and_shared_settings(srv: Path, tmp_path: Path):
    cfg = load(write(tmp_path, f"""
targets:
  - kind: git
    discover: {{root: {srv}, max_depth: 7, include: ["*"], exclude: [archive, "risk/*"]}}
    max_commits: 50
    timeout: 30
"""))
    t = by_name(cfg)
    assert sorted(t) == ["a-b-c-d-e-f-deep", "ml-churn", "ml-models"]
    assert {x.settings.max_commits for x in t.values()} == {50}
    assert {x.timeout for x in t.values()} == {30}


def test_relative_root_resolves_against_the_config_file_and_var_expands(srv: Path, tmp_path: Path,
                                                                        monkeypatch):
    monkeypatch.setenv("GIT_SUBDIR", "ml")
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg = load(write(conf, "targets:\n  - kind: git\n    discover: {root: '../srv/${GIT_SUBDIR}'}\n"))
    assert sorted(by_name(cfg)) == ["churn", "models"]


def test_labels_from_a_pattern_a_mapping_file_and_the_entry(srv: Path, tmp_path: Path):
    write(tmp_path, '"ml/models*": {team: modelops, tier: gold}\n"archive/*": attic\n', "teams.yaml")
    cfg = load(write(tmp_path, f"""
targets:
  - kind: git
    labels: {{env: prod}}
    discover:
      root: {srv}
      labels_from: {{team: '^(?P<team>[^/]+)/'}}
      labels_file: teams.yaml
"""))
    labels = {n: t.labels for n, t in by_name(cfg).items()}
    assert labels["ml-churn"] == {"env": "prod", "team": "ml"}
    assert labels["ml-models"] == {"env": "prod", "team": "modelops", "tier": "gold"}
    assert labels["archive-old"] == {"env": "prod", "team": "attic"}
    assert labels["risk-fraud"] == {"env": "prod", "team": "risk"}


def test_names_are_unique_stable_and_never_paths(tmp_path: Path):
    root = tmp_path / "srv"
    for rel in ("a-b/c", "a/b-c", "x/y.git", "x/y", "we..ird/-re po..git"):
        bare(root / rel) if rel.endswith(".git") else make_repo(root / rel, {"f": "1\n"})
    text = f"targets:\n  - kind: git\n    discover: {{root: {root}, max_depth: 8}}\n"
    first = sorted(by_name(load(write(tmp_path, text))))
    assert first == sorted(by_name(load(write(tmp_path, text))))  # same names every run
    assert len(first) == 5 and all(NAME.match(n) and ".." not in n for n in first)
    clashing = [n for n in first if n.startswith(("a-b-c", "x-y"))]
    assert len(clashing) == 4 and all(re.search(r"-[0-9a-f]{8}$", n) for n in clashing)


def test_a_listed_target_wins_over_the_same_repository_discovered(srv: Path, tmp_path: Path):
    cfg = load(write(tmp_path, f"""
targets:
  - {{name: churn, kind: git, path: {srv}/ml/churn, labels: {{team: retention}}}}
  - {{name: ml-models, kind: git, path: {srv}/risk/fraud.git}}
  - kind: git
    discover: {{root: {srv}, include: ["ml/*", "risk/*"]}}
  - kind: git
    discover: {{root: {srv}/ml}}
"""))
    t = by_name(cfg)
    assert t["churn"].labels == {"team": "retention"}
    assert [n for n, x in t.items() if x.settings.path.endswith("ml/churn")] == ["churn"]
    # the name is taken by another repository: the discovered one is told apart by a hash
    models = [n for n, x in t.items() if x.settings.path.endswith("models.git")]
    assert len(models) == 1 and re.fullmatch(r"ml-models-[0-9a-f]{8}", models[0])
    assert len(t) == 3  # the second root finds nothing new


def test_a_missing_root_is_one_line_and_the_audit_goes_on(srv: Path, tmp_path: Path, caplog,
                                                          monkeypatch):
    monkeypatch.setattr(logging.getLogger("mlops_auditor"), "propagate", True)  # CLI runs unset it
    config = write(tmp_path, f"""
targets:
  - kind: git
    discover: {{root: {srv}/ml, include: [churn]}}
  - name: nas
    kind: git
    labels: {{team: risk}}
    discover: {{root: /nonexistent/srv/git}}
""")
    cfg = load(config)
    failed = by_name(cfg)["nas"]
    assert isinstance(failed.settings, Undiscovered) and failed.labels == {"team": "risk"}
    assert failed.settings.problems == ("/nonexistent/srv/git: no such folder",)
    assert any("no such folder" in r.getMessage() for r in caplog.records)
    doc = audit(config, tmp_path / "out")
    status = {t["name"]: t["status"] for t in doc["targets"]}
    assert status == {"churn": "ok", "nas": "error"}
    (gap,) = [u for u in doc["unobserved"] if u["target"] == "nas"]
    assert "/nonexistent/srv/git: no such folder" in gap["reason"]
    assert doc["partial"] is True
    assert any(e["target"] == "churn" for e in doc["evidence"])


def test_an_unreadable_folder_is_reported_and_the_rest_is_found(srv: Path, tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root reads any folder")
    (srv / "risk").chmod(0)
    try:
        cfg = load(write(tmp_path, f"targets:\n  - kind: git\n    discover: {{root: {srv}}}\n"))
    finally:
        (srv / "risk").chmod(0o755)
    t = by_name(cfg)
    assert "ml-churn" in t and "risk-fraud" not in t
    assert "could not be listed (first: risk" in t["git-discovery"].settings.problems[0]


def test_more_repositories_than_max_targets_audits_the_first_and_says_so(srv: Path, tmp_path: Path):
    cfg = load(write(tmp_path, f"targets:\n  - kind: git\n    discover: {{root: {srv}, max_targets: 2}}\n"))
    t = by_name(cfg)
    assert sorted(t) == ["archive-old", "git-discovery", "ml-churn"]
    assert "more than 2 repositories" in t["git-discovery"].settings.problems[0]


@pytest.mark.parametrize(("entry", "expected"), [
    ("discover: {root: ., exlude: [a]}",
     ":3: targets.0.discover.exlude: unknown key (did you mean 'exclude'?)"),
    ("path: /srv/x\n    discover: {root: .}",
     ":3: targets.0.path: set by discovery for each target found"),
    ("max_comits: 3\n    discover: {root: .}", ":3: targets.0.max_comits: unknown key (did you mean"),
    ("max_commits: 0\n    discover: {root: .}", ":3: targets.0.max_commits: Input should be"),
    ("discover: {root: ., name_format: '{team}'}", "discover.name_format: use one or more of {path}"),
    ("discover: {root: ., labels_from: {team: '('}}", "labels_from.team: not a regular expression"),
    ("discover: {root: ., labels_file: nope.yaml}", "discover.labels_file: "),
    ("discover: {root: ., max_depth: 99}", "discover.max_depth: Input should be less than"),
    ("discover: {}", "targets.0.discover.root: required key is missing"),
    ("discover: [/srv]", "targets.0.discover: Input should be a valid dictionary"),
])
def test_discovery_mistakes_stop_the_run_with_file_line_and_key(tmp_path: Path, entry, expected):
    path = write(tmp_path, f"targets:\n  - kind: git\n    {entry}\n")
    msg = error_of(path)
    assert msg.startswith(str(path)) and expected in msg, msg


def test_a_kind_that_cannot_be_discovered_says_which_can(tmp_path: Path):
    msg = error_of(write(tmp_path, "targets:\n  - kind: mlflow\n    discover: {url: x}\n"))
    assert "kind 'mlflow' cannot be discovered (discovery knows: git, kubernetes, aws, oci)" in msg


def test_discovering_nothing_at_all_is_a_configuration_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    msg = error_of(write(tmp_path, "targets:\n  - kind: git\n    discover: {root: empty}\n"))
    assert msg.endswith("targets: the list is empty")


# -- kubernetes --------------------------------------------------------------------------


def kubeconfig(path: Path, url: str, token: str, contexts: list[str]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": c, "context": {"cluster": "c", "user": "u"}} for c in contexts]}))
    return path


def test_every_context_of_a_kubeconfig_is_audited(kube_api, tmp_path: Path):
    from tests.servers.kubernetes import TOKEN

    kubeconfig(tmp_path / "kubeconfig", kube_api.url, TOKEN,
               ["prod-eu", "prod-us", "arn:aws:eks:eu-west-1:123456789012:cluster/dev"])
    config = write(tmp_path, """
targets:
  - kind: kubernetes
    discover: {kubeconfig: kubeconfig, contexts: ["prod-*"], labels_from: {region: '-(\\w+)$'}}
    namespaces: {exclude: [kube-system]}
""")
    t = by_name(load(config))
    assert sorted(t) == ["prod-eu", "prod-us"]
    assert t["prod-eu"].settings.kubeconfig == str(tmp_path / "kubeconfig")
    assert t["prod-eu"].settings.context == "prod-eu" and t["prod-us"].labels == {"region": "us"}
    assert t["prod-us"].settings.namespaces.exclude == ["kube-system"]
    doc = audit(config, tmp_path / "out")
    assert {x["name"]: x["status"] for x in doc["targets"]} == {"prod-eu": "ok", "prod-us": "ok"}
    seen = {e["target"] for e in doc["evidence"]}
    assert seen == {"prod-eu", "prod-us"}
    assert not kube_api.non_get()


def test_contexts_of_the_kubeconfig_list_in_the_environment(tmp_path: Path, monkeypatch):
    a = kubeconfig(tmp_path / "a", "https://a.example:6443", "t", ["shared", "only-a"])
    b = kubeconfig(tmp_path / "b", "https://b.example:6443", "t", ["shared", "arn:aws:eks:x:1:cluster/b"])
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(a), str(tmp_path / "missing"), str(b)]))
    t = by_name(load(write(tmp_path, "targets:\n  - kind: kubernetes\n    discover: {}\n")))
    assert sorted(t) == ["arn-aws-eks-x-1-cluster-b", "only-a", "shared"]
    assert t["shared"].settings.kubeconfig is None  # the client merges $KUBECONFIG the same way


def test_an_unreadable_kubeconfig_is_one_line_and_not_fatal(tmp_path: Path):
    write(tmp_path, "apiVersion: v1\nkind: Config\nusers: []\n", "not-a-kubeconfig")
    write(tmp_path, "contexts: [\n", "broken")
    cfg = load(write(tmp_path, """
targets:
  - {name: missing, kind: kubernetes, discover: {kubeconfig: nope}}
  - {name: empty, kind: kubernetes, discover: {kubeconfig: not-a-kubeconfig}}
  - {name: broken, kind: kubernetes, discover: {kubeconfig: broken}}
"""))
    problems = {n: t.settings.problems for n, t in by_name(cfg).items()}
    (broken,) = problems.pop("broken")
    assert broken.startswith(f"kubeconfig {tmp_path}/broken: not a kubeconfig: ")  # the parser's words
    assert problems == {
        "missing": (f"kubeconfig {tmp_path}/nope: cannot read: no such file",),
        "empty": (f"kubeconfig {tmp_path}/not-a-kubeconfig: not a kubeconfig: no 'contexts' list",),
    }


def test_kubeconfig_credentials_never_surface(tmp_path: Path, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("mlops_auditor"), "propagate", True)
    kubeconfig(tmp_path / "kc", "https://k.example", "sekret-token-Zq81", ["ctx"])
    cfg = load(write(tmp_path, "targets:\n  - kind: kubernetes\n    discover: {kubeconfig: kc}\n"))
    assert "sekret" not in repr(cfg.targets) and "sekret" not in caplog.text


# -- aws ---------------------------------------------------------------------------------


def organization(moto_url: str) -> dict[str, str]:
    """An Organization with two member accounts and a suspended one; a bucket in each
    active member account, created through the role discovery will assume."""
    import boto3

    org = boto3.client("organizations", endpoint_url=moto_url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    ids = {}
    for name in ("ML Prod", "Data Lake", "Old Sandbox"):
        status = org.create_account(Email=f"{name.split()[0].lower()}@example.com", AccountName=name)
        ids[name] = status["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=ids["Old Sandbox"])
    sts = boto3.client("sts", endpoint_url=moto_url, region_name="us-east-1")
    for name in ("ML Prod", "Data Lake"):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ids[name]}:role/OrganizationAccountAccessRole",
                                RoleSessionName="seed")["Credentials"]
        boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                     aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["SessionToken"]).create_bucket(
            Bucket=f"{name.split()[0].lower()}-models-{ids[name]}")
    return ids


def aws_entry(url: str, discover: str = "{organization: true}", name: str = "org") -> str:
    return (f"targets:\n  - name: {name}\n    kind: aws\n    endpoint_url: {url}\n"
            f"    regions: [us-east-1]\n    discover: {discover}\n")


def test_every_active_account_of_the_organization_through_the_named_role(moto_url: str, tmp_path: Path):
    ids = organization(moto_url)
    write(tmp_path, f"'{ids['Data Lake']}': data-platform\n", "accounts.yaml")
    cfg = load(write(tmp_path, aws_entry(
        moto_url, "{organization: true, labels_file: accounts.yaml, labels_from: {env: '(?i)^ml (\\w+)'}}")))
    t = by_name(cfg)
    assert sorted(t) == ["Data-Lake", "ML-Prod", "master"]  # suspended: left out
    assert t["ML-Prod"].settings.role_arn == (
        f"arn:aws:iam::{ids['ML Prod']}:role/OrganizationAccountAccessRole")
    assert t["master"].settings.role_arn is None  # the account discovery runs in: as it is
    assert t["Data-Lake"].labels == {"team": "data-platform"} and t["ML-Prod"].labels == {"env": "Prod"}
    assert all(x.settings.regions == ["us-east-1"] for x in t.values())


def test_a_discovered_account_is_read_through_its_assumed_role(moto_url: str, tmp_path: Path):
    ids = organization(moto_url)
    config = write(tmp_path, aws_entry(
        moto_url, "{organization: true, role_name: OrganizationAccountAccessRole, "
                  "include: ['ML*'], name_format: 'aws-{id}'}"))
    doc = audit(config, tmp_path / "out")
    assert [t["name"] for t in doc["targets"]] == [f"aws-{ids['ML Prod']}"]
    text = json.dumps(doc["evidence"])
    assert f"ml-models-{ids['ML Prod']}" in text  # the member account's bucket ...
    assert f"data-models-{ids['Data Lake']}" not in text  # ... and only its own


def test_include_and_exclude_by_account_id_or_name(moto_url: str, tmp_path: Path):
    ids = organization(moto_url)
    cfg = load(write(tmp_path, aws_entry(
        moto_url, f"{{organization: true, include: ['{ids['ML Prod']}', 'Data*', master], "
                  f"exclude: [master]}}")))
    assert sorted(by_name(cfg)) == ["Data-Lake", "ML-Prod"]


def test_organizations_access_denied_is_one_line_and_not_fatal(fault_proxy, tmp_path: Path):
    proxy, url = fault_proxy
    organization(proxy.upstream)
    proxy.rules["ListAccounts"] = [400, "AccessDeniedException", None]
    cfg = load(write(tmp_path, aws_entry(url)))
    (failed,) = cfg.targets
    assert failed.name == "org" and isinstance(failed.settings, Undiscovered)
    (line,) = failed.settings.problems
    assert line.startswith("AWS Organizations access denied (ListAccounts)")
    assert "moto-fake-secret" not in line


def test_an_account_outside_any_organization_says_so(fault_proxy, tmp_path: Path):
    proxy, url = fault_proxy
    cfg = load(write(tmp_path, aws_entry(proxy.upstream)))  # moto lists no account
    assert cfg.targets[0].settings.problems == (
        "ListAccounts listed no account: the account is not a member of an AWS Organization",)
    proxy.rules["ListAccounts"] = [400, "AWSOrganizationsNotInUseException", None]  # as AWS does
    cfg = load(write(tmp_path, aws_entry(url)))
    assert cfg.targets[0].settings.problems == ("the account is not a member of an AWS Organization",)


def test_role_arn_is_discovery_s_to_set(tmp_path: Path):
    msg = error_of(write(tmp_path, "targets:\n  - kind: aws\n    role_arn: arn:aws:iam::1:role/x\n"
                                   "    discover: {organization: true}\n"))
    assert "targets.0.role_arn: set by discovery" in msg
    msg = error_of(write(tmp_path, "targets:\n  - kind: aws\n    discover: {organization: false}\n"))
    assert "targets.0.discover.organization: Input should be True" in msg


# -- oci ---------------------------------------------------------------------------------


def test_every_repository_of_a_registry_is_its_own_target(oci_registry, tmp_path: Path):
    config = write(tmp_path, f"""
targets:
  - kind: oci
    discover:
      url: {oci_registry.url}
      repositories: ["ml/*"]
      exclude: [ml/broken]
      labels_from: {{team: '^(?P<team>[^/]+)/'}}
    max_tags: 5
""")
    t = by_name(load(config))
    host = oci_registry.host.replace(":", "-")
    assert sorted(t) == [f"{host}-ml-churn", f"{host}-ml-fraud", f"{host}-ml-vision"]
    churn = t[f"{host}-ml-churn"]
    assert churn.settings.repositories == ["ml/churn"] and churn.settings.max_tags == 5
    assert churn.labels == {"team": "ml"}
    doc = audit(config, tmp_path / "out")
    assert {x["status"] for x in doc["targets"]} == {"ok"}
    churn_ev = [e for e in doc["evidence"] if e["target"] == f"{host}-ml-churn"]
    assert churn_ev and all("ml/churn" in e["locator"] for e in churn_ev)


def test_a_registry_that_is_not_there_is_one_line(tmp_path: Path):
    from tests.servers._util import free_port

    cfg = load(write(tmp_path, f"targets:\n  - kind: oci\n    discover: {{url: 'http://127.0.0.1:{free_port()}'}}\n"))
    (failed,) = cfg.targets
    assert failed.name == "oci-discovery" and len(failed.settings.problems) == 1


def test_a_repository_target_answers_link_look_ups_for_its_own_repository_only(oci_registry,
                                                                               tmp_path: Path):
    from auditor.probe import ProbeContext
    from auditor.refs import image_key
    from probes.oci import OciProbe

    cfg = load(write(tmp_path, f"targets:\n  - kind: oci\n    discover: {{url: {oci_registry.url}, "
                               f"repositories: [ml/churn, ml/fraud]}}\n"))
    keys = [image_key(oci_registry.host, r) for r in ("ml/churn", "ml/fraud", "web/frontend")]
    answered = {}
    for t in cfg.targets:
        ctx = ProbeContext(probe="oci", cache_dir=tmp_path, timeout=30)
        answered[t.settings.repositories[0]] = [
            k for ev in OciProbe().resolve_links(t, ctx, keys) for k in ev.attributes["link_keys"]]
    assert answered == {"ml/churn": [keys[0]], "ml/fraud": [keys[1]]}


def test_a_waiver_for_what_a_failed_discovery_would_have_found_does_not_stop_the_run(
        srv: Path, tmp_path: Path, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("mlops_auditor"), "propagate", True)
    waivers = ("waivers:\n  - {capability: feature_store, scope: 'target:ml-churn', reason: r}\n"
               "  - {capability: feature_store, scope: 'team:ml', reason: r}\n")
    body = ("targets:\n  - {{name: solo, kind: git, path: {srv}/ml/churn}}\n  - kind: git\n"
            "    discover: {{root: {root}, labels_from: {{team: '^(?P<team>[^/]+)/'}}}}\n")
    cfg = load(write(tmp_path, body.format(srv=srv, root="/nonexistent/git") + waivers))
    assert [w.scope for w in cfg.waivers] == ["target:ml-churn", "team:ml"]
    assert "waivers.0.scope: target:ml-churn not found" in caplog.text
    # with nothing unseen, a waiver naming nothing is still a mistake that stops the run
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="waivers.0.scope: no target named 'ml-churn'"):
        load(write(tmp_path, body.format(srv=srv, root=tmp_path / "empty") + waivers))
