"""The stacks real teams use, each in a synthetic repository built with gitpython (the labelled
corpus has no Feast, BentoML, Seldon, KServe, Evidently or model card; the other classes were
seen there and are kept here as small, readable cases)."""

from __future__ import annotations

import pytest

from auditor.evidence import Strength
from tests.repos import at, audit_repo, files_of, make_repo


@pytest.fixture
def audit(tmp_path):
    def run(files: dict[str, str], **settings):
        evidence, unobserved = audit_repo(make_repo(tmp_path / "r", files), tmp_path, **settings)
        assert not [u for u in unobserved if "does not declare" in u.reason]
        return evidence, unobserved
    return run


def test_feast_feature_repository(audit):
    evidence, _ = audit({
        "features/feature_store.yaml": "project: churn\nprovider: local\nregistry: data/registry.db\n",
        "features/definitions.py": (
            "from datetime import timedelta\n"
            "from feast import Entity, FeatureService, FeatureView, Field, FileSource\n"
            "from feast.types import Float32\n\n"
            "customer = Entity(name='customer', join_keys=['customer_id'])\n"
            "source = FileSource(path='data/stats.parquet', timestamp_field='ts')\n"
            "stats = FeatureView(name='stats', entities=[customer], ttl=timedelta(days=1),\n"
            "                    schema=[Field(name='tenure', dtype=Float32)], source=source)\n"
            "service = FeatureService(name='churn', features=[stats])\n"),
    })
    assert files_of(evidence, "feature_store.definition") == {"features/feature_store.yaml",
                                                               "features/definitions.py"}


def test_bentoml_seldon_and_kserve_serving(audit):
    evidence, _ = audit({
        "bento/service.py": ("import bentoml\n\n\n@bentoml.service(resources={'cpu': '2'})\nclass Churn:\n"
                             "    model = bentoml.models.get('churn:latest')\n\n"
                             "    @bentoml.api\n    def predict(self, rows: list) -> list:\n        return rows\n"),
        "seldon/model.py": ("from mlserver import MLModel\n\n\nclass Churn(MLModel):\n"
                            "    async def predict(self, payload):\n        return payload\n"),
        "seldon/deployment.yaml": ("apiVersion: machinelearning.seldon.io/v1\nkind: SeldonDeployment\n"
                                   "metadata:\n  name: churn\nspec:\n  predictors:\n    - name: default\n"
                                   "      graph: {name: churn, implementation: SKLEARN_SERVER}\n"
                                   "      logger: {mode: all, url: http://logger.monitoring}\n"),
        "kserve/model.py": ("import kserve\n\n\nclass Churn(kserve.Model):\n"
                            "    def predict(self, payload, headers=None):\n        return payload\n\n\n"
                            "kserve.ModelServer().start([Churn('churn')])\n"),
        "kserve/isvc.yaml": ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
                             "metadata:\n  name: churn\nspec:\n  predictor:\n    minReplicas: 1\n"
                             "    maxReplicas: 4\n    model:\n      modelFormat: {name: sklearn}\n"
                             "      storageUri: s3://models/churn\n  explainer:\n    alibi: {type: AnchorTabular}\n"),
    })
    assert files_of(evidence, "serving.deployment") == {"bento/service.py", "seldon/model.py",
                                                         "seldon/deployment.yaml", "kserve/model.py",
                                                         "kserve/isvc.yaml"}
    assert files_of(evidence, "serving.autoscaling") == {"kserve/isvc.yaml"}
    assert files_of(evidence, "explainability.check") == {"kserve/isvc.yaml"}
    assert files_of(evidence, "monitoring.prediction_log") == {"seldon/deployment.yaml"}


def test_evidently_test_suites_validate_data_and_reports_monitor(audit):
    evidence, _ = audit({
        "quality/gate.py": ("from evidently.test_suite import TestSuite\n"
                            "from evidently.test_preset import DataStabilityTestPreset\n\n"
                            "suite = TestSuite(tests=[DataStabilityTestPreset()])\n"
                            "suite.run(reference_data=ref, current_data=cur)\n"),
        "monitoring/drift.py": ("from evidently.report import Report\n"
                                "from evidently.metric_preset import DataDriftPreset\n\n"
                                "report = Report(metrics=[DataDriftPreset()])\n"
                                "report.run(reference_data=ref, current_data=cur)\n"),
        "pipelines/steps.py": ("from zenml.integrations.evidently.steps import evidently_report_step\n\n"
                               "drift = evidently_report_step.with_options(parameters={})\n"),
    })
    assert files_of(evidence, "data_validation.check") == {"quality/gate.py"}
    assert files_of(evidence, "monitoring.model_job") == {"monitoring/drift.py", "pipelines/steps.py"}


def test_model_cards_as_documents_and_from_the_toolkit(audit):
    evidence, _ = audit({
        "model_card.md": ("# Churn model\n\n## Intended use\nRetention offers.\n\n## Training data\n"
                          "CRM snapshots.\n\n## Limitations\nNot for credit.\n"),
        "models/fraud/MODEL_CARD.md": "# Fraud\nTODO\n",
        "src/card.py": ("import model_card_toolkit as mct\n\n"
                        "toolkit = mct.ModelCardToolkit('cards')\ncard = toolkit.scaffold_assets()\n"),
    })
    cards = {e.locator.split("#")[1].split(":")[0]: e.strength for e in evidence if e.signal == "docs.model_card"}
    assert cards == {"model_card.md": Strength.CONFIGURED, "models/fraud/MODEL_CARD.md": Strength.DECLARED,
                     "src/card.py": Strength.CONFIGURED}


def test_integration_packages_credit_the_wrapped_tool(audit):
    evidence, _ = audit({
        "pipelines/train.py": (
            "from zenml import pipeline\n"
            "from zenml.integrations.mlflow.steps.mlflow_registry import mlflow_register_model_step\n"
            "from zenml.integrations.mlflow.steps.mlflow_deployer import mlflow_model_deployer_step\n\n\n"
            "@pipeline\ndef training():\n    model = train()\n"
            "    mlflow_register_model_step(model, name='churn')\n"
            "    mlflow_model_deployer_step(model)\n"),
        "dags/train.py": (
            "from airflow import DAG\n"
            "from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator\n\n"
            "with DAG('train', schedule='@weekly') as dag:\n"
            "    SageMakerTrainingOperator(task_id='train_model', config={})\n"),
    })
    assert files_of(evidence, "registry.usage", tool="mlflow") == {"pipelines/train.py"}
    assert files_of(evidence, "serving.deployment", tool="mlflow") == {"pipelines/train.py"}
    assert files_of(evidence, "pipeline.definition") == {"pipelines/train.py", "dags/train.py"}
    assert files_of(evidence, "tool.orchestration", tool="sagemaker") == {"dags/train.py"}
    assert at(evidence, "schedule.job", trains=True) == {"dags/train.py:4"}


def test_vertex_ai_tracking_registry_endpoints_monitoring_and_explanations(audit):
    evidence, _ = audit({
        "vertex/train.py": (
            "from google.cloud import aiplatform\n\n"
            "aiplatform.init(project='p', location='europe-west4', experiment='churn')\n"
            "aiplatform.start_run('run-1')\n"
            "aiplatform.log_metrics({'auc': 0.91})\n"
            "model = aiplatform.Model.upload(display_name='churn', artifact_uri='gs://m',\n"
            "                                serving_container_image_uri='img',\n"
            "                                explanation_metadata=metadata)\n"
            "endpoint = aiplatform.Endpoint.create(display_name='churn')\n"
            "model.deploy(endpoint=endpoint, machine_type='n1-standard-4')\n"
            "aiplatform.ModelDeploymentMonitoringJob.create(display_name='churn-monitor',\n"
            "                                               endpoint=endpoint, objective_configs=objective)\n"),
    })
    assert at(evidence, "tool.experiment_tracking", tool="vertex-ai") == {"vertex/train.py:4"}
    assert at(evidence, "registry.usage") == {"vertex/train.py:6"}
    assert at(evidence, "explainability.check") == {"vertex/train.py:6"}
    assert at(evidence, "serving.deployment") == {"vertex/train.py:9"}
    assert at(evidence, "monitoring.model_job") == {"vertex/train.py:11"}


def test_azure_ml_cli_v2_yaml_and_sdk_v1_calls(audit):
    evidence, _ = audit({
        "azureml/endpoint.yml": ("$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
                                 "name: churn\nauth_mode: key\n"),
        "azureml/batch.yml": ("$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\n"
                              "name: churn-batch\n"),
        "azureml/rai.yml": ("$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
                            "jobs:\n  insights:\n    type: command\n"
                            "    component: azureml://registries/azureml/components/microsoft_azureml_rai_tabular_insight_constructor/versions/1\n"
                            "  explain:\n    component: azureml://registries/azureml/components/microsoft_azureml_rai_tabular_explanation/versions/1\n"),
        "src/train_aml.py": ("from azureml.core.run import Run\n\nrun = Run.get_context()\n"
                             "run.log('mse', 0.2)\nrun.parent.log('mse', 0.2)\n"),
        "src/register.py": ("from azureml.core.model import Model as AMLModel\n\n"
                            "AMLModel.register(workspace=ws, model_path='model.pkl', model_name='churn')\n"),
    })
    assert files_of(evidence, "serving.deployment") == {"azureml/endpoint.yml"}
    assert files_of(evidence, "serving.batch") == {"azureml/batch.yml"}
    assert files_of(evidence, "pipeline.definition") == {"azureml/rai.yml"}
    assert files_of(evidence, "explainability.check") == {"azureml/rai.yml"}
    assert at(evidence, "tool.experiment_tracking", tool="azureml") == {"src/train_aml.py:4"}
    assert at(evidence, "registry.usage") == {"src/register.py:3"}


CDK_PY = '''import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_codepipeline as codepipeline


class ModelStack(cdk.Stack):
    def __init__(self, scope, name):
        super().__init__(scope, name)
        sagemaker.CfnEndpoint(self, "Endpoint", endpoint_config_name="churn")
        sagemaker.CfnModelPackageGroup(self, "Registry", model_package_group_name="churn")
        events.Rule(self, "Retrain", description="Retrain the churn model",
                    schedule=events.Schedule.cron(day="1", hour="3"))
        events.Rule(self, "Score", description="Batch scoring of new customers",
                    schedule=events.Schedule.rate(cdk.Duration.days(1)))
        events.Rule(self, "Paused", enabled=False, description="Retrain every hour",
                    schedule=events.Schedule.rate(cdk.Duration.hours(1)))
        codepipeline.Pipeline(self, "Delivery")
'''

CDK_TS = '''import * as cdk from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { aws_events as events } from 'aws-cdk-lib';
import { CfnMonitoringSchedule } from 'aws-cdk-lib/aws-sagemaker';

export class ServingStack extends cdk.Stack {
  constructor(scope: cdk.App, id: string) {
    super(scope, id);
    // new lambda.DockerImageFunction(this, 'Old', {});  (commented out)
    new lambda.DockerImageFunction(this, 'PredictFunction', {
      code: lambda.DockerImageCode.fromImageAsset('inference'),
    });
    new CfnMonitoringSchedule(this, 'Drift', { monitoringScheduleName: 'churn-drift' } as any);
    new events.Rule(this, 'TrainingSchedule', {
      schedule: events.Schedule.cron({ minute: '0', hour: '4' }),
    });
  }
}
'''


def test_aws_cdk_apps_in_python_and_typescript(audit):
    evidence, _ = audit({"infra/model_stack.py": CDK_PY, "cdk/serving-stack.ts": CDK_TS,
                         "cdk/README.md": "new lambda.DockerImageFunction(this, 'Docs', {})\n"})
    assert at(evidence, "serving.deployment") == {"infra/model_stack.py:10", "cdk/serving-stack.ts:10"}
    assert at(evidence, "registry.usage") == {"infra/model_stack.py:11"}
    assert at(evidence, "schedule.job", trains=True) == {"infra/model_stack.py:12", "cdk/serving-stack.ts:14"}
    assert at(evidence, "schedule.job", trains=False) == {"infra/model_stack.py:14"}  # scoring; paused: nothing
    assert at(evidence, "ci.pipeline") == {"infra/model_stack.py:18"}
    assert at(evidence, "monitoring.model_job") == {"cdk/serving-stack.ts:13"}
    assert files_of(evidence, "iac.definition") == {"infra/model_stack.py", "cdk/serving-stack.ts"}


def test_flask_model_api_dockerfile_names_and_gunicorn(audit):
    evidence, _ = audit({
        "api/app.py": ("import joblib\nfrom flask import Flask, jsonify, request\n\n"
                       "app = Flask(__name__)\nmodel = joblib.load('model.pkl')\n\n\n"
                       "@app.route('/health')\ndef health():\n    return 'ok'\n\n\n"
                       "@app.route('/predict', methods=['POST'])\ndef predict():\n"
                       "    return jsonify(model.predict(request.json).tolist())\n"),
        "admin/app.py": ("from flask import Flask\n\napp = Flask(__name__)\n\n\n"
                         "@app.route('/users')\ndef users():\n    return []\n"),
        "docker/Dockerfile.gpu": "FROM nvidia/cuda:12.2.0-runtime-ubuntu22.04\n",
        "docker/Dockerfile-serving": "FROM python:3.11-slim\nCMD [\"gunicorn\", \"api.app:app\"]\n",
        "docker/train.Dockerfile": "FROM python:3.11-slim\n",
    })
    assert at(evidence, "serving.deployment", kind="web_api") == {"api/app.py:13"}
    assert files_of(evidence, "env.container_image") == {"docker/Dockerfile.gpu", "docker/Dockerfile-serving",
                                                          "docker/train.Dockerfile"}
    assert files_of(evidence, "serving.container") == {"docker/Dockerfile-serving"}


def test_dvclive_great_expectations_legacy_api_and_fixtures_built_elsewhere(audit):
    evidence, _ = audit({
        "train.py": "from dvclive import Live\n\nwith Live() as live:\n    live.log_metric('auc', 0.9)\n",
        "requirements.txt": "great-expectations==0.15.50\ndvclive==3.0.0\n",
        "tests/conftest.py": ("import great_expectations as ge\nimport pytest\n\n\n@pytest.fixture\n"
                              "def customers():\n    return ge.read_csv('data/customers.csv')\n"),
        "tests/test_customers.py": ("def test_ids_are_present(customers):\n"
                                    "    result = customers.expect_column_values_to_not_be_null('id')\n"
                                    "    assert result.success\n"),
    })
    configured = {e.locator.split("#")[1] for e in evidence if e.signal == "tool.experiment_tracking"
                  and e.strength == Strength.CONFIGURED}
    assert configured == {"train.py:3"}
    assert files_of(evidence, "data_validation.check") == {"tests/conftest.py", "tests/test_customers.py"}
    assert files_of(evidence, "quality.tests") == {"tests/test_customers.py"}


def test_ibm_watson_machine_learning_store_is_a_registry(audit):
    evidence, _ = audit({"deploy.py": (
        "from ibm_watson_machine_learning import APIClient\n\nclient = APIClient(credentials)\n"
        "stored = client.repository.store_model(model, meta_props=props)\n"
        "client.deployments.create(stored['metadata']['id'], meta_props=deploy_props)\n")})
    assert at(evidence, "registry.usage") == {"deploy.py:4"}
    assert at(evidence, "serving.deployment") == {"deploy.py:5"}


def test_prediction_logging_and_prometheus_metrics_from_a_serving_app(audit):
    evidence, _ = audit({
        "api/logging.py": ("from fluent import sender\n\nlogger = sender.FluentSender('churn', host='fluentd')\n\n\n"
                           "def log_prediction(features, score):\n"
                           "    logger.emit('prediction', {'features': features, 'score': score})\n"),
        "api/metrics.py": ("from prometheus_client import Counter, Histogram\n\n"
                           "PREDICTIONS = Histogram('churn_prediction_score', 'Predicted churn probability')\n"
                           "REQUESTS = Counter('http_requests_total', 'Requests')\n"),
        "k8s/servicemonitor.yaml": ("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n"
                                    "metadata:\n  name: churn-api\nspec:\n  endpoints: [{port: metrics}]\n"),
    })
    assert at(evidence, "monitoring.prediction_log") == {"api/logging.py:7"}
    assert at(evidence, "monitoring.model_metric") == {"api/metrics.py:3"}
    assert files_of(evidence, "monitoring.scrape") == {"k8s/servicemonitor.yaml"}


def test_ci_recognised_by_content_and_jenkins_stages_classified(audit):
    evidence, _ = audit({
        "ci/build.yaml": ("steps:\n  - name: gcr.io/cloud-builders/docker\n"
                          "    args: [build, -t, europe-docker.pkg.dev/p/r/churn:$SHORT_SHA, .]\n"
                          "  - name: python:3.11\n    entrypoint: bash\n    args: [-c, 'pytest -q']\n"),
        ".pipelines/train.yml": ("trigger: [main]\npool:\n  vmImage: ubuntu-latest\nsteps:\n"
                                 "  - script: python -m ml_service.run_train_pipeline\n"
                                 "    displayName: Train and register\n"),
        "Jenkinsfile": ("pipeline {\n  agent any\n  stages {\n    stage('Train model') {\n"
                        "      steps { sh 'make all' }\n    }\n  }\n}\n"),
        "k8s/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: steps\n",
    })
    systems = {e.locator.split("#")[1].split(":")[0]: e.attributes["system"]
               for e in evidence if e.signal == "ci.pipeline"}
    assert systems == {"ci/build.yaml": "google_cloud_build", ".pipelines/train.yml": "azure_pipelines",
                       "Jenkinsfile": "jenkins"}
    assert files_of(evidence, "ci.train_step") == {".pipelines/train.yml", "Jenkinsfile"}
    assert files_of(evidence, "ci.test_step") == {"ci/build.yaml"}


def test_test_names_and_runners(audit):
    evidence, _ = audit({
        "src/model_tests.py": "def test_fit():\n    assert True\n",
        "src/tests_data.py": "import unittest\n\n\nclass Data(unittest.TestCase):\n    def test_rows(self):\n        pass\n",
        "tests/test_empty.py": "",
        "Makefile": "check:\n\tpython -m pytest -q\n",
        ".github/workflows/ci.yml": ("on: [push]\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - uses: actions/checkout@v4\n      - run: make check\n"
                                    "      - run: nox -s lint\n"),
    })
    assert at(evidence, "quality.tests") == {"src/model_tests.py:1"}
    assert at(evidence, "ci.test_step") == {".github/workflows/ci.yml:7", ".github/workflows/ci.yml:8"}


def test_prow_owners_and_nearly_pinned_requirements(audit):
    runtime = "".join(f"pkg{i}=={i}.0\n" for i in range(19)) + "neptune-client>=0.13\n"
    evidence, _ = audit({
        "OWNERS": "approvers:\n  - alice\nreviewers:\n  - bob\n",
        "requirements.txt": runtime,
        "requirements-dev.txt": "pytest==8.2.0\nruff==0.6.0\n",
    })
    assert at(evidence, "review.codeowners", tool="prow") == {"OWNERS:1"}
    pins = {e.locator.split("#")[1].split(":")[0]: e.attributes for e in evidence
            if e.signal == "env.pinned_requirements"}
    assert pins["requirements.txt"]["nearly_pinned"] is True and pins["requirements.txt"]["fully_pinned"] is False
    assert pins["requirements.txt"]["unpinned"] == ["neptune-client"]
    assert pins["requirements.txt"]["purpose"] == "runtime"
    assert pins["requirements-dev.txt"]["purpose"] == "development"
