"""Only real code counts: imports, calls and decorators confirmed with ``ast``; never text inside
strings, docstrings, comments or notebook outputs; settings that switch a thing off are evidence
against it; words match on boundaries."""

from __future__ import annotations

from auditor.evidence import Strength
from tests.repos import at, audit_repo, files_of, make_repo, notebook

FIXTURE_IN_STRINGS = '''"""Fixtures for the tests.

    from feast import Entity, FeatureView
    view = FeatureView(name="x")
"""

FEATURES = (
    "from feast import Entity, FeatureView\\n"
    "customer = Entity(name='customer')\\n"
    "stats = FeatureView(name='stats', entities=[customer])\\n"
)
SNIPPET = """
import mlflow
mlflow.register_model("runs:/1/model", "churn")
"""
# import great_expectations as ge
# ge.from_pandas(df).expect_column_values_to_not_be_null("id")
'''


def test_code_inside_strings_docstrings_and_comments_shows_nothing(tmp_path):
    repo = make_repo(tmp_path / "r", {"src/fixtures.py": FIXTURE_IN_STRINGS})
    evidence, unobserved = audit_repo(repo, tmp_path)
    assert unobserved == []
    ml = [e for e in evidence if not e.signal.startswith(("vcs.", "tempo."))]
    assert ml == []


def test_a_definition_named_like_a_call_is_not_a_use(tmp_path):
    repo = make_repo(tmp_path / "r", {"src/registry.py": (
        "import mlflow\n"
        "\n"
        "\n"
        "def register_model(uri, name):\n"
        "    '''Our own helper; mlflow.register_model is never called here.'''\n"
        "    return uri, name\n"
        "\n"
        "\n"
        "class FeatureView:\n"
        "    pass\n"
        "\n"
        "\n"
        "register_model('runs:/1/model', 'churn')\n"
        "FeatureView()\n")})
    evidence, _ = audit_repo(repo, tmp_path)
    assert not {e.signal for e in evidence} & {"registry.usage", "feature_store.definition"}
    tracking = [e for e in evidence if e.signal == "tool.experiment_tracking"]
    assert [e.strength for e in tracking] == [Strength.DECLARED]  # imported, never used


def test_every_import_form_is_read(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "a_comma.py": "import os, json, mlflow\nmlflow.start_run()\n",
        "b_from_package.py": ("from google.cloud import aiplatform\n"
                              "aiplatform.Model.upload(display_name='churn', artifact_uri='gs://m')\n"),
        "c_alias.py": "import pandera as pa\nschema = pa.DataFrameSchema({})\n",
        "d_from_as.py": "from fairlearn.metrics import MetricFrame as MF\nMF(metrics={}, y_true=[], y_pred=[])\n",
        "e_nested.py": "def explain(m, X):\n    import shap\n    return shap.TreeExplainer(m).shap_values(X)\n",
    })
    evidence, unobserved = audit_repo(repo, tmp_path)
    assert unobserved == []
    assert at(evidence, "tool.experiment_tracking", tool="mlflow") == {"a_comma.py:2"}
    assert at(evidence, "registry.usage") == {"b_from_package.py:2"}
    assert at(evidence, "data_validation.check") == {"c_alias.py:2"}
    assert at(evidence, "fairness.check") == {"d_from_as.py:2"}
    assert at(evidence, "explainability.check") == {"e_nested.py:3"}


def test_calls_through_variables_keywords_and_clients_resolve(tmp_path):
    repo = make_repo(tmp_path / "r", {"train.py": (
        "import boto3\n"
        "from mlflow import MlflowClient\n"
        "from mlflow import sklearn as msk\n"
        "\n"
        "client = MlflowClient()\n"
        "client.set_registered_model_alias('churn', 'champion', 3)\n"
        "msk.log_model(model, 'model', registered_model_name='fraud')\n"
        "sm = boto3.client('sagemaker')\n"
        "sm.create_model_package_group(ModelPackageGroupName='churn')\n")})
    evidence, _ = audit_repo(repo, tmp_path)
    reg = {(e.attributes["tool"], e.attributes.get("model")): e.locator.split("#")[1]
           for e in evidence if e.signal == "registry.usage"}
    assert reg == {("mlflow", None): "train.py:6", ("mlflow", "fraud"): "train.py:7",
                   ("sagemaker", None): "train.py:9"}


def test_notebooks_read_code_cells_only(tmp_path):
    nb = notebook("import pandas as pd\ndf = pd.DataFrame()",
                  markdown=("We could `import great_expectations` and call\n"
                            "ge.from_pandas(df).expect_column_values_to_be_unique('id')",),
                  output="import mlflow\nmlflow.register_model('runs:/1/m', 'churn')\n")
    repo = make_repo(tmp_path / "r", {"notebooks/explore.ipynb": nb})
    evidence, unobserved = audit_repo(repo, tmp_path)
    assert unobserved == []
    assert not [e for e in evidence if e.signal.startswith(("tool.", "registry.", "data_validation."))]


def test_notebooks_are_bounded_on_code_not_on_file_size(tmp_path):
    big_output = "x" * 200_000  # outputs make the file far larger than the cap
    nb = notebook("import mlflow", "with mlflow.start_run():\n    mlflow.log_metric('auc', 0.9)",
                  output=big_output)
    huge_code = notebook("import wandb\nwandb.init()\n" + "x = 1\n" * 30_000)
    repo = make_repo(tmp_path / "r", {"notebooks/train.ipynb": nb, "notebooks/huge.ipynb": huge_code})
    evidence, unobserved = audit_repo(repo, tmp_path, max_file_bytes=65536)
    assert files_of(evidence, "tool.experiment_tracking", tool="mlflow") == {"notebooks/train.ipynb"}
    line = next(e for e in evidence if e.signal == "tool.experiment_tracking").locator.rsplit(":", 1)[1]
    assert 'with mlflow.start_run' in (tmp_path / "r/notebooks/train.ipynb").read_text().splitlines()[int(line) - 1]
    reasons = {u.what: u.reason for u in unobserved}
    assert "notebook code is" in reasons["notebooks/huge.ipynb"]  # skipped, and said so
    assert not files_of(evidence, "tool.experiment_tracking", tool="wandb")


def test_notebook_cells_that_are_not_python_are_reported(tmp_path):
    nb = notebook("%%bash\necho hello", "!pip install mlflow\nimport mlflow\nmlflow.start_run()",
                  "print 'python 2'")
    repo = make_repo(tmp_path / "r", {"nb.ipynb": nb})
    evidence, unobserved = audit_repo(repo, tmp_path)
    assert files_of(evidence, "tool.experiment_tracking") == {"nb.ipynb"}  # magics dropped
    assert [u.what for u in unobserved] == ["nb.ipynb"]
    assert "1 code cell(s) are not valid Python 3" in unobserved[0].reason


def test_settings_that_switch_a_thing_off_are_evidence_against_it(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "infra/ecr.tf": ('resource "aws_ecr_repository" "model" {\n  name = "model"\n'
                         '  image_scanning_configuration {\n    scan_on_push = false\n  }\n}\n'
                         'resource "aws_ecr_repository" "api" {\n  name = "api"\n'
                         '  image_scanning_configuration {\n    # scan_on_push = true\n'
                         '    scan_on_push = false\n  }\n}\n'
                         'resource "aws_ecr_repository" "scanned" {\n  name = "scanned"\n'
                         '  image_scanning_configuration {\n    scan_on_push = true\n  }\n}\n'),
        "infra/retrain.tf": ('resource "aws_cloudwatch_event_rule" "retrain" {\n'
                             '  name                = "retrain-churn"\n'
                             '  schedule_expression = "cron(0 3 * * ? *)"\n'
                             '  state               = "DISABLED"\n}\n'
                             'resource "aws_kms_key" "unused" {\n  count = 0\n}\n'
                             '# resource "aws_cloudtrail" "audit" {\n#   name = "audit"\n# }\n'),
        "template.yml": ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Retrain:\n"
                         "    Type: AWS::Events::Rule\n    Properties:\n"
                         "      Name: retrain-model\n      ScheduleExpression: cron(0 12 1 * ? *)\n"
                         "      State: DISABLED\n"),
        "k8s/cron.yaml": ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: retrain\nspec:\n"
                          "  suspend: true\n  schedule: '0 3 * * *'\n  jobTemplate:\n    spec:\n"
                          "      template:\n        spec:\n          containers:\n"
                          "            - name: train\n              image: acme/train:1.0\n"
                          "              command: [python, train.py]\n"),
    })
    evidence, unobserved = audit_repo(repo, tmp_path)
    assert unobserved == []
    assert at(evidence, "security.scanning") == {"infra/ecr.tf:14"}  # only the one scanning on push
    assert not [e for e in evidence if e.signal in ("schedule.job", "audit.logging", "security.encryption")]


def test_words_match_on_boundaries_a_server_is_not_serving(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "k8s/airflow.yaml": ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: airflow-webserver\n"
                             "spec:\n  template:\n    spec:\n      containers:\n"
                             "        - name: webserver\n          image: apache/airflow:2.9.0\n"),
        "k8s/tracking.yaml": ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mlflow-tracking-server\n"
                              "spec:\n  template:\n    spec:\n      containers:\n"
                              "        - name: mlflow\n          image: ghcr.io/mlflow/mlflow:v2.16.0\n"
                              "          command: [mlflow, server, --host, 0.0.0.0]\n"),
        "k8s/model.yaml": ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: churn-predictor\n"
                           "spec:\n  template:\n    spec:\n      containers:\n"
                           "        - name: api\n          image: acme/churn-api:1.0\n"),
    })
    evidence, _ = audit_repo(repo, tmp_path)
    assert files_of(evidence, "serving.deployment") == {"k8s/model.yaml"}
