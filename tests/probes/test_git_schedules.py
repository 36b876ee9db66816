"""Scheduled retraining means a schedule that trains: a CI job with a train step, a DAG with a
training task, a rule or cron job that starts training. Drift checks, feature materialisation,
security scans and dependency updates on a schedule are schedules, not retraining."""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.audit import run_audit
from auditor.config import AuditConfig, build_target
from tests.repos import at, audit_repo, make_repo

WORKFLOWS = {
    ".github/workflows/retrain.yml": ("on:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  retrain:\n"
                                      "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                                      "      - run: python -m churn.retrain_model\n"),
    ".github/workflows/drift.yml": ("on:\n  schedule:\n    - cron: '0 * * * *'\njobs:\n  drift:\n"
                                    "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                                    "      - run: python monitoring/check_drift.py --training-data s3://ref\n"),
    ".github/workflows/deps.yml": ("on:\n  schedule:\n    - cron: '0 5 * * 1'\njobs:\n  update:\n"
                                   "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                                   "      - run: pip-audit -r requirements.txt\n"),
}

DAGS = {
    "dags/train.py": ("from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n\n"
                      "with DAG('churn_training', schedule_interval='@weekly') as dag:\n"
                      "    PythonOperator(task_id='train_model', python_callable=print)\n"),
    "dags/drift.py": ("from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n\n"
                      "with DAG('churn_drift', schedule='@hourly') as dag:\n"
                      "    PythonOperator(task_id='compare_with_training_data', python_callable=print)\n"
                      "    PythonOperator(task_id='check_drift', python_callable=print)\n"),
    "dags/features.py": ("from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\n"
                         "with DAG('feature_materialization', schedule='@daily') as dag:\n"
                         "    BashOperator(task_id='materialize', bash_command='feast materialize-incremental')\n"),
    "dags/manual.py": ("from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n\n"
                       "with DAG('train_by_hand', schedule_interval=None) as dag:\n"
                       "    PythonOperator(task_id='train', python_callable=print)\n"),
}

CRONJOBS = {
    "k8s/retrain.yaml": ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: churn-retrain\nspec:\n"
                         "  schedule: '0 2 * * 0'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
                         "          containers:\n            - name: job\n              image: acme/churn:1.0\n"
                         "              command: [python, -m, churn.train]\n"),
    "k8s/score.yaml": ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: churn-batch-scoring\nspec:\n"
                       "  schedule: '0 6 * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
                       "          containers:\n            - name: job\n              image: acme/churn:1.0\n"
                       "              command: [python, -m, churn.score]\n"),
    "infra/schedules.tf": ('resource "aws_cloudwatch_event_rule" "monthly" {\n  name = "monthly"\n'
                           '  schedule_expression = "cron(0 12 1 * ? *)"\n}\n'
                           'resource "aws_cloudwatch_event_target" "monthly" {\n'
                           '  rule = aws_cloudwatch_event_rule.monthly.name\n'
                           '  arn  = aws_sagemaker_pipeline.training_pipeline.arn\n}\n'
                           'resource "google_cloud_scheduler_job" "drift" {\n  name = "drift-report"\n'
                           '  schedule = "0 * * * *"\n  pubsub_target {\n    topic_name = "drift"\n  }\n}\n'),
}


def test_ci_schedules_train_only_when_a_step_trains(tmp_path):
    evidence, _ = audit_repo(make_repo(tmp_path / "r", WORKFLOWS), tmp_path)
    assert at(evidence, "schedule.job", trains=True) == {".github/workflows/retrain.yml:1"}
    assert at(evidence, "schedule.job", trains=False) == {".github/workflows/drift.yml:1"}
    assert at(evidence, "ci.train_step", scheduled=True) == {".github/workflows/retrain.yml:9"}


def test_dag_schedules_train_only_with_a_training_task(tmp_path):
    evidence, _ = audit_repo(make_repo(tmp_path / "r", DAGS), tmp_path)
    assert at(evidence, "schedule.job", trains=True) == {"dags/train.py:4"}
    assert at(evidence, "schedule.job", trains=False) == {"dags/drift.py:4", "dags/features.py:4"}


def test_cron_jobs_and_cloud_rules_train_when_what_they_start_trains(tmp_path):
    evidence, _ = audit_repo(make_repo(tmp_path / "r", CRONJOBS), tmp_path)
    assert at(evidence, "schedule.job", trains=True) == {"k8s/retrain.yaml:1", "infra/schedules.tf:1"}
    assert at(evidence, "schedule.job", trains=False) == {"k8s/score.yaml:1", "infra/schedules.tf:9"}


def _continuous_training(tmp_path, files: dict[str, str]) -> str:
    repo = make_repo(tmp_path / "r", files)
    a = run_audit(AuditConfig(targets=[build_target({"name": "r", "kind": "git", "path": str(repo)})]),
                  cache_dir=tmp_path / "cache", now=datetime(2026, 11, 1, tzinfo=UTC))
    return next(c["status"] for c in a["capabilities"]
                if c["id"] == "continuous_training" and c["scope"] == {"kind": "target", "name": "r"})


def test_a_drift_check_dag_is_not_continuous_training(tmp_path):
    drift_only = {k: v for k, v in DAGS.items() if k != "dags/train.py"}
    assert _continuous_training(tmp_path / "a", drift_only) != "met"
    assert _continuous_training(tmp_path / "b", DAGS) == "met"
