"""The MLflow probe against real ``mlflow server`` processes: empty, research, production."""

from __future__ import annotations

from auditor.evidence import Strength


def test_empty_server(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["empty"].url)
    sig = got.signals()
    assert got.unobserved == []
    server = sig["tracking.server"][0]
    assert server.strength == Strength.OPERATING
    assert server.attributes["tool"] == "mlflow-server"
    assert server.attributes["version"].count(".") >= 1
    assert server.attributes["auth_enforced"] is False
    exps = sig["tracking.experiments"][0]
    assert exps.attributes["active"] == 1 and exps.strength == Strength.DECLARED  # only Default
    # nothing run, nothing registered: no claims beyond the server itself
    for absent in ("tracking.runs", "schedule.job", "registry.model_version", "lineage.code",
                   "tempo.training_runs_per_week", "platform.shared"):
        assert absent not in sig
    assert sig["tool.experiment_tracking"][0].strength == Strength.DECLARED


def test_research_server_notebook_runs_only(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["research"].url)
    sig = got.signals()
    assert got.unobserved == []
    runs = [r for r in sig["tracking.runs"] if r.attributes["experiment"].endswith("-notebooks")]
    assert len(runs) == 2 and all(r.strength == Strength.OPERATING for r in runs)
    assert all(r.attributes["sources"] == {"NOTEBOOK": r.attributes["sampled_runs"]}
               for r in sig["tracking.runs"])
    assert {r.attributes["sources"]["NOTEBOOK"] for r in runs} == {6}
    assert all(r.attributes["last_7d"] == 6 and r.attributes["users"] == 1 for r in runs)
    # interactive work only: nothing scheduled, no lineage, no registry
    for absent in ("schedule.job", "lineage.code", "lineage.data", "registry.model_version",
                   "monitoring.model_job"):
        assert absent not in sig
    # a fairness metric computed by hand in a notebook is a declared check, not a set-up one
    fairness = sig["fairness.check"][0]
    assert fairness.strength == Strength.DECLARED
    assert "demographic_parity_difference" in fairness.attributes["names"]
    tempo = sig["tempo.training_runs_per_week"][0]
    assert tempo.attributes["value"] == 15 / 4 and tempo.attributes["unit"] == "per_week"
    # several people, one team tag: at most a hint of sharing
    assert [e.strength for e in sig.get("platform.shared", [])] in ([], [Strength.DECLARED])


def test_production_server(mlflow_servers, mlflow_collect) -> None:
    srv = mlflow_servers["production"]
    got = mlflow_collect(srv.url)
    sig = got.signals()
    assert got.unobserved == []
    host = srv.url.split("://", 1)[1]
    train_id = srv.facts["experiments"]["churn-training"]

    sched = {e.attributes["experiment"]: e for e in sig["schedule.job"]}
    assert sched["churn-training"].strength == Strength.OPERATING
    assert sched["churn-training"].locator.startswith(f"mlflow://{host}/experiments/{train_id}/runs/")

    code = {e.attributes["experiment"]: e for e in sig["lineage.code"]}["churn-training"]
    assert code.strength == Strength.CONFIGURED
    assert code.attributes["links_to"] == [f"commit:{srv.facts['commit']}"]
    assert code.attributes["repo_urls"] == ["https://git.example.com/risk/churn.git"]

    data = {e.attributes["experiment"]: e for e in sig["lineage.data"]}["churn-training"]
    assert data.attributes["runs_with_datasets"] == 8
    assert any(d.startswith("churn-features@") for d in data.attributes["datasets"])

    nested = [e for e in sig["distributed.workload"] if e.attributes["kind"] == "nested_runs"]
    assert nested and nested[0].attributes["child_runs"] == 3
    assert nested[0].strength == Strength.DECLARED
    assert sig["compute.gpu_workload"][0].attributes["gpu_runs"] == 8

    # the monitoring experiment: scheduled drift, bias, explainability, data quality, gate
    strengths = {s: max(e.strength for e in sig[s]) for s in (
        "monitoring.model_metric", "monitoring.model_job", "fairness.check",
        "explainability.check", "data_validation.check", "validation.gate")}
    assert all(v == Strength.OPERATING for v in strengths.values()), strengths
    gate = sig["validation.gate"][0]
    assert gate.attributes["kind"] == "threshold" and "validation_passed" in gate.attributes["names"]

    models = {e.attributes["model"]: e for e in sig["registry.model_version"]}
    churn, fraud = models["churn"], models["fraud"]
    assert churn.strength == Strength.OPERATING
    assert churn.attributes["aliases"] == {"challenger": "3", "champion": "2"}
    assert churn.attributes["link_keys"] == ["model:churn"]
    assert churn.locator == f"mlflow://{host}/models/churn/versions/3"
    assert fraud.attributes["versions_without_source_run"] == 1  # the lineage gap
    assert fraud.attributes["stages"] == {"None": 1, "Production": 1}
    lead = sig["tempo.promotion_lead_time_days"][0].attributes
    assert lead["samples"] == 1 and 0 <= lead["value"] < 1 and lead["unit"] == "days"
    assert sig["lineage.model"][0].attributes["models_with_gaps"] == ["fraud"]
    approval = sig["governance.approval"][0]
    assert approval.attributes["model"] == "churn" and approval.locator.endswith("/versions/2")

    ages = {e.attributes["model"]: e for e in sig["tempo.production_model_age_days"]}
    assert set(ages) == {"churn", "fraud"} and ages["churn"].attributes["version"] == "2"
    assert sig["tempo.model_versions_per_month"][0].attributes["value"] == round(5 / 3, 2)
    shared = sig["platform.shared"][0]
    assert shared.strength == Strength.OPERATING and shared.attributes["team_names"] == ["fraud", "risk"]
    described = {e.attributes["kind"]: e for e in sig["metadata.described"]}
    assert described["experiments"].strength == Strength.CONFIGURED
    assert described["registered_models"].attributes == {
        "kind": "registered_models", "described": 1, "tagged": 2, "total": 2}


def test_sampling_bounds_runs_per_experiment(mlflow_servers, mlflow_collect) -> None:
    got = mlflow_collect(mlflow_servers["production"].url, max_runs_per_experiment=3,
                         runs_page_size=10)
    runs = {e.attributes["experiment"]: e for e in got.signals()["tracking.runs"]}
    assert runs["churn-training"].attributes["sampled_runs"] == 3
    assert runs["churn-training"].attributes["sample_truncated"] is True
    assert runs["fraud-training"].attributes["sampled_runs"] == 3
    # the newest runs are the ones sampled: all three monitoring runs are from the last 3 days
    assert runs["churn-monitoring"].attributes["last_7d"] == 3


def test_evidence_is_deterministic_apart_from_time(mlflow_servers, mlflow_collect) -> None:
    a = mlflow_collect(mlflow_servers["production"].url)
    b = mlflow_collect(mlflow_servers["production"].url)
    strip = lambda c: sorted((e.signal, e.locator, str(e.attributes)) for e in c.evidence  # noqa: E731
                             if not e.signal.startswith("tempo."))
    assert strip(a) == strip(b)


def test_target_settings_are_validated() -> None:
    import pytest

    from auditor.config import ConfigError, build_target

    t = build_target({"name": "m", "kind": "mlflow", "tracking_uri": "https://mlflow.example.com/",
                      "max_runs_per_experiment": 50})
    assert t.settings.tracking_uri == "https://mlflow.example.com"
    assert t.settings.max_runs_per_experiment == 50
    with pytest.raises(ConfigError, match="tracking_uri"):
        build_target({"name": "m", "kind": "mlflow", "tracking_uri": "sqlite:///mlflow.db"})
    with pytest.raises(ConfigError, match="unknown key"):
        build_target({"name": "m", "kind": "mlflow", "tracking_uri": "http://h", "token": "x"})


def test_command_line_arguments() -> None:
    from probes.mlflow import MlflowProbe

    probe = MlflowProbe()
    assert probe.target_from_argument("mlflow+https://mlflow.example.com") == {
        "tracking_uri": "https://mlflow.example.com"}
    assert probe.target_from_argument("databricks://prod") == {"tracking_uri": "databricks://prod"}
    assert probe.target_from_argument("https://prometheus.example.com") is None


def test_metric_names_are_matched_as_words() -> None:
    from probes.mlflow.patterns import categories

    assert categories("feature_psi") == {"drift"} and categories("val/ks_stat") == {"drift"}
    assert categories("epsilon") == set() and categories("tasks_done") == set()
    assert categories("demographic_parity_ratio") == {"fairness"}
    assert categories("shap_mean_abs") == {"explainability"}
    assert categories("null_fraction") == {"data_quality"}
    assert categories("validation_passed") == {"gate"}
