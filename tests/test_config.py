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
    assert error_of(path) == f"{path}:3: targetz: unknown key"


def test_unknown_probe_setting_is_an_error_with_its_line(tmp_path):
    path = write(tmp_path, "targets:\n  - name: a\n    kind: facts\n    sleeep: 3\n")
    assert error_of(path) == f"{path}:4: targets.0.sleeep: unknown key"


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
