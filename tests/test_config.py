"""audit.yaml is validated on load; every error is one line naming file, line and key."""

from __future__ import annotations

import pytest

from auditor.config import ConfigError, load, targets_from_arguments

pytestmark = pytest.mark.usefixtures("test_plugin")


def write(tmp_path, text):
    path = tmp_path / "audit.yaml"
    path.write_text(text)
    return path


def error_of(path):
    with pytest.raises(ConfigError) as exc:
        load(path)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_valid_config_loads_targets_policy_and_waivers(tmp_path):
    cfg = load(write(tmp_path, """
targets:
  - {name: a, kind: facts, labels: {team: t}}
policy: {allowed_regions: [eu-west-1]}
waivers:
  - {capability: feature_store, scope: "team:t", reason: tabular only, expires: 2030-01-01}
"""))
    assert cfg.targets[0].team == "t"
    assert cfg.policy.allowed_regions == ("eu-west-1",)
    assert cfg.waivers[0].capability == "feature_store"


def test_unknown_top_level_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, "targets:\n  - {name: a, kind: facts}\ntargetz: []\n")
    assert error_of(path) == f"{path}:3: targetz: unknown key (did you mean 'targets'?)"


def test_unknown_probe_setting_is_an_error_with_its_line(tmp_path):
    path = write(tmp_path, "targets:\n  - name: a\n    kind: facts\n    sleeep: 3\n")
    assert error_of(path) == f"{path}:4: targets.0.sleeep: unknown key (did you mean 'sleep'?)"


def test_unknown_kind_lists_installed_probes(tmp_path):
    msg = error_of(write(tmp_path, "targets:\n  - {name: a, kind: nosuch}\n"))
    assert ":2: kind: no probe for kind 'nosuch'" in msg and "facts" in msg


def test_malformed_yaml_gives_line(tmp_path):
    msg = error_of(write(tmp_path, "targets:\n  - {name: a, kind: facts\n"))
    assert msg.startswith(str(tmp_path / "audit.yaml") + ":") and "invalid YAML" in msg


def test_duplicate_names_and_missing_file(tmp_path):
    msg = error_of(write(tmp_path, "targets:\n  - {name: a, kind: facts}\n  - {name: a, kind: facts}\n"))
    assert ":3:" in msg and "duplicate target name 'a'" in msg
    assert "cannot read" in error_of(tmp_path / "missing.yaml")


def test_wrong_type_names_the_key(tmp_path):
    path = write(tmp_path, "targets:\n  - {name: a, kind: facts}\nsettings:\n  jobs: many\n")
    assert error_of(path).startswith(f"{path}:4: settings.jobs:")


def test_environment_variables_fill_values_without_writing_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIL_MSG", "from-env")
    cfg = load(write(tmp_path, "targets:\n  - {name: a, kind: facts, fail: '${FAIL_MSG}'}\n"))
    assert cfg.targets[0].settings.fail == "from-env"


def test_argument_nobody_understands_is_a_clear_error():
    with pytest.raises(ConfigError, match="not a path or URL any installed probe understands"):
        targets_from_arguments(["/definitely/not/here/xyz"])


def test_expanded_environment_values_are_registered_as_secrets(tmp_path, monkeypatch):
    """A password put into a setting through ${VAR} must not come back in a reason."""
    from auditor.redact import one_line

    monkeypatch.setenv("AUDIT_REF_SECRET", "vQ8zR4nd0mPassw0rd")
    load(write(tmp_path, "targets:\n  - {name: a, kind: facts, fail: 'ref ${AUDIT_REF_SECRET}'}\n"))
    assert "vQ8zR4nd0mPassw0rd" not in one_line("ref 'vQ8zR4nd0mPassw0rd' not found")


def test_names_and_paths_from_the_environment_are_shown_and_other_values_masked(tmp_path, monkeypatch):
    """``path: ${GIT_ROOT}/churn`` and ``team: ${TEAM}`` name the report's subjects: masking
    them would give ``team ***``. A value anywhere else may be a password and stays masked."""
    from auditor.audit import run_audit
    from auditor.redact import one_line
    from reports.markdown import MarkdownReport
    from tests.repos import make_repo

    make_repo(tmp_path / "srv" / "churn", {"Dockerfile": "FROM python:3.12\n"})
    monkeypatch.setenv("AUDIT_GIT_ROOT", str(tmp_path / "srv"))
    monkeypatch.setenv("AUDIT_TEAM", "retention")
    monkeypatch.setenv("AUDIT_REF_TOKEN", "qW3rtyS3cr3tRef99")
    cfg = load(write(tmp_path, "targets:\n"
                               "  - {name: churn, kind: git, path: '${AUDIT_GIT_ROOT}/churn',\n"
                               "     labels: {team: '${AUDIT_TEAM}'}}\n"
                               "  - {name: a, kind: facts, fail: 'ref ${AUDIT_REF_TOKEN}'}\n"))
    md = MarkdownReport().render(run_audit(cfg, cache_dir=tmp_path / "cache"))
    assert "Team `retention`" in md
    assert f"git+file://{tmp_path / 'srv' / 'churn'}@" in md
    assert "qW3rtyS3cr3tRef99" not in one_line("ref 'qW3rtyS3cr3tRef99' not found")
    assert "qW3rtyS3cr3tRef99" not in md


BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
"""


def test_alias_bomb_is_refused_before_it_is_walked(tmp_path):
    # 9**6 = 531441 values once expanded: a small bomb, refused by its size, not by a symptom
    path = write(tmp_path, BOMB + "targets:\n  - {name: a, kind: facts}\nwaivers: *f\n")
    assert error_of(path) == (f"{path}: refused: YAML aliases expand to more than 100000 values "
                              "(an alias bomb?)")


def test_an_alias_bomb_spread_over_the_target_list_is_refused(tmp_path):
    # each target is read as soon as it is composed: the expansion still counts them all
    items = "".join(f"  - {{name: t{i}, kind: facts, labels: *e}}\n" for i in range(2))
    path = write(tmp_path, BOMB.split("f: &f")[0] + "targets:\n" + items)
    assert error_of(path).endswith("refused: YAML aliases expand to more than 100000 values "
                                   "(an alias bomb?)")


def test_the_target_list_reads_as_pyyaml_reads_the_whole_document(tmp_path):
    import yaml

    from auditor.config import _document, _where

    text = ("version: 1\n"
            "targets:\n"
            "  - &one {name: a, kind: facts, labels: &l {team: t}}\n"
            "  - <<: *one\n"
            "    name: b\n"
            "  - {name: c, kind: facts, labels: *l, when: 2026-01-02, n: 0x1f, off: no}\n"
            "settings: {jobs: 2}\n"
            "targets:\n"  # a repeated key: the last one counts, as in PyYAML
            "  - *one\n"
            "  - name: d\n"
            "    kind: facts\n")
    data, _, lines = _document(write(tmp_path, text))
    assert data == yaml.load(text, Loader=yaml.SafeLoader)
    where = {loc: _where("f", lines, loc) for loc in [
        ("targets", 0, "labels", "team"), ("targets", 1, "name"), ("targets", 1, "kind"),
        ("settings", "jobs")]}
    # an alias is found where its anchor's value is written
    assert list(where.values()) == ["f:3", "f:10", "f:11", "f:7"]


def test_a_long_target_list_is_not_held_as_a_document(tmp_path):
    import yaml

    from auditor.config import _document
    from auditor.yamlload import safe_loader
    from tests.support import traced_peak

    text = "targets:\n" + "".join(
        f"  - {{name: repo-{i:05d}, kind: git, path: /srv/git/repo-{i:05d}.git, "
        f"labels: {{team: team-{i % 20:02d}}}}}\n" for i in range(3000))
    path = write(tmp_path, text)
    whole = traced_peak(lambda: yaml.compose(text, Loader=safe_loader()))
    streamed = traced_peak(lambda: _document(path))
    assert streamed < whole * 3 / 4, (streamed >> 10, whole >> 10)  # was 4/3 held whole


def test_a_node_inside_itself_and_deep_nesting_are_refused(tmp_path):
    assert "refused" in error_of(write(tmp_path, "targets: &t [*t]\n"))
    assert error_of(write(tmp_path, "targets: " + "[" * 5000 + "]" * 5000 + "\n")).endswith(
        "refused: YAML nested too deeply")


def test_x_keys_hold_what_targets_share_through_anchors(tmp_path):
    cfg = load(write(tmp_path, "x-facts: &f {kind: facts, labels: {team: risk}}\n"
                               "x-unused: ${AUDIT_NEVER_SET_ANYWHERE}\n"
                               "targets:\n  - {<<: *f, name: a}\n  - {<<: *f, name: b, labels: {team: t}}\n"))
    assert [(t.name, t.kind, t.team) for t in cfg.targets] == [("a", "facts", "risk"), ("b", "facts", "t")]
    assert error_of(write(tmp_path, "y-facts: 1\ntargets:\n  - {name: a, kind: facts}\n")).endswith(
        "y-facts: unknown key")


def test_nesting_is_refused_past_200_levels_wherever_it_is(tmp_path):
    # the root mapping is one level: 199 lists under a key are 200, the most allowed
    def nested(n):
        return "[" * n + "]" * n

    target = "targets:\n  - {name: a, kind: facts}\n"
    assert [t.name for t in load(write(tmp_path, f"x-deep: {nested(199)}\n" + target)).targets] == ["a"]
    assert error_of(write(tmp_path, f"x-deep: {nested(200)}\n" + target)).endswith(
        "refused: YAML nested too deeply")
    # the root, targets and the target are three: 197 mappings in it make 200, 198 one too many
    def in_target(n):
        deep = "{a: " * n + "1" + "}" * n
        return error_of(write(tmp_path, f"targets:\n  - {{name: a, kind: facts, labels: {deep}}}\n"))

    assert in_target(197).endswith("targets.0.labels.a: Input should be a valid string")
    assert in_target(198).endswith("refused: YAML nested too deeply")
    assert error_of(write(tmp_path, nested(300) + "\n")).endswith("refused: YAML nested too deeply")


def test_ordinary_anchors_still_load(tmp_path):
    cfg = load(write(tmp_path, "targets:\n  - {name: a, kind: facts, labels: &l {team: t}}\n"
                     "  - {name: b, kind: facts, labels: *l}\n"))
    assert [t.team for t in cfg.targets] == ["t", "t"]


def test_billion_laughs_exits_2_with_one_line(tmp_path):
    """The whole command, in a process held to 1 GiB: refused at once, not after the memory."""
    import resource
    import subprocess
    import sys

    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "\n".join(levels) + "\ntargets:\n  - {name: x, kind: git, path: .}\n"
                 "waivers: *i\n")

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([sys.executable, "-c", "from auditor.cli import main; main()", "audit",
                           "-q", "--config", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, preexec_fn=limit_memory, timeout=600)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.count("\n") == 1 and "alias bomb" in proc.stderr


# ---- configs that fail loudly ------------------------------------------------------------


def test_a_typo_of_a_required_key_is_unknown_not_missing(tmp_path):
    path = write(tmp_path, "targts:\n  - {name: a, kind: facts}\n")
    assert error_of(path).startswith(f"{path}:1: targts: unknown key (did you mean 'targets'?)")
    path = write(tmp_path, "targets:\n  - {name: a, kind: facts}\nsettings:\n  jobz: 2\n")
    assert error_of(path) == f"{path}:4: settings.jobz: unknown key (did you mean 'jobs'?)"


def test_unset_variable_is_an_error_naming_it_and_its_line(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIT_UNSET_VAR", raising=False)
    path = write(tmp_path, "targets:\n  - name: a\n    kind: facts\n    fail: '${AUDIT_UNSET_VAR}'\n")
    assert error_of(path) == (f"{path}:4: targets.0.fail: environment variable AUDIT_UNSET_VAR is "
                              "not set (set it, or write ${AUDIT_UNSET_VAR:-default})")


def test_variable_default_is_used_when_unset_or_empty(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIT_UNSET_VAR", raising=False)
    monkeypatch.setenv("AUDIT_EMPTY_VAR", "")
    cfg = load(write(tmp_path, "targets:\n  - {name: a, kind: facts, fail: '${AUDIT_UNSET_VAR:-x}"
                               "${AUDIT_EMPTY_VAR:-y}'}\n"))
    assert cfg.targets[0].settings.fail == "xy"


def test_relative_paths_resolve_against_the_config_file(tmp_path, monkeypatch):
    """cron runs ``--config /etc/mlops-auditor/audit.yaml`` from anywhere."""
    etc = tmp_path / "etc" / "mlops-auditor"
    etc.mkdir(parents=True)
    (tmp_path / "rubric.yaml").write_text("id: ours\ntitle: Ours\nstages:\n"
                                          "  - {number: 1, name: One, requires: [version_control]}\n")
    path = etc / "audit.yaml"
    path.write_text("targets:\n  - {name: a, kind: git, path: ../../churn}\n"
                    "  - {name: k, kind: kubernetes, snapshot: exports/staging}\n"
                    "settings: {cache_dir: cache, history_dir: /var/h, framework: ../../rubric.yaml}\n")
    monkeypatch.chdir(tmp_path / "etc")
    cfg = load(path)
    assert cfg.targets[0].settings.path == str(tmp_path / "churn")
    assert cfg.targets[1].settings.snapshot == str(etc / "exports" / "staging")
    assert cfg.settings.cache_dir == str(etc / "cache") and cfg.settings.history_dir == "/var/h"
    assert cfg.settings.framework == str(tmp_path / "rubric.yaml")


def test_missing_framework_file_says_not_found(tmp_path):
    path = write(tmp_path, "targets:\n  - {name: a, kind: facts}\nsettings:\n  framework: ours.yaml\n")
    assert error_of(path) == (f"{path}:4: settings.framework: framework file not found: "
                              f"{tmp_path / 'ours.yaml'}")


@pytest.mark.parametrize(("waiver", "message"), [
    ("{capability: feture_store, reason: r}",
     "waivers.0.capability: unknown capability 'feture_store' (did you mean 'feature_store'?)"),
    ("{capability: feature_store, scope: 'teams:t', reason: r}",
     "waivers.0.scope: 'teams:t' is not a scope (org, team:<name> or target:<name>)"),
    ("{capability: feature_store, scope: 'team:tt', reason: r}",
     "waivers.0.scope: no target has labels.team 'tt' (did you mean 't'?)"),
    ("{capability: feature_store, scope: 'target:svd', reason: r}",
     "waivers.0.scope: no target named 'svd' (did you mean 'svc'?)"),
    ("{capability: feature_store, reason: r, expires: 2027-02-30}", "waivers.0.expires:"),
])
def test_waivers_are_validated(tmp_path, waiver, message):
    path = write(tmp_path, "targets:\n  - {name: svc, kind: facts, labels: {team: t}}\n"
                           f"waivers:\n  - {waiver}\n")
    assert error_of(path).startswith(f"{path}:4: {message}")


def _validate_in_a_new_process(env_value: str | None) -> list[str]:
    import os
    import subprocess
    import sys

    code = ("import os, sys\n"
            "from auditor.config import TargetBase\n"
            "TargetBase.model_validate({'name': 'a', 'kind': 'git'})\n"
            "print(os.environ['PYDANTIC_DISABLE_PLUGINS'], 'importlib.metadata' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def test_pydantic_plugins_are_off_without_importing_importlib_metadata():
    # the auditor uses none, and one would see every value validated (expanded credentials)
    assert _validate_in_a_new_process(None) == ["__all__", "False"]


def test_a_pydantic_plugin_setting_the_user_made_is_kept():
    assert _validate_in_a_new_process("some_plugin") == ["some_plugin", "True"]
