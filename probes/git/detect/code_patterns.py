"""Call sites git grep looks for in Python files and notebooks, and the signal each one shows.

Patterns are written in the regex subset shared by Python and git grep (``-P`` or ``-E``):
``\\s``, ``\\w``, ``\\b``, groups and alternation. A pattern may require that the file also
imports a tool of some category, so generic names (``Pipeline(``, ``Report(``) only count in
files that import an orchestrator or a monitoring library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CallPattern:
    signal: str
    regex: str
    categories: frozenset[str] = frozenset()  # the file must import a tool in one of these...
    tools: frozenset[str] = frozenset()  # ...or one of these tools (empty both: no requirement)
    label: str = ""

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compiled(self.regex)


_cache: dict[str, re.Pattern[str]] = {}


def _compiled(regex: str) -> re.Pattern[str]:
    if regex not in _cache:
        _cache[regex] = re.compile(regex)
    return _cache[regex]


def P(signal: str, regex: str, categories: tuple[str, ...] = (), tools: tuple[str, ...] = (),
      label: str = "") -> CallPattern:
    return CallPattern(signal, regex, frozenset(categories), frozenset(tools), label or signal)


ORCH = ("orchestration",)
CALLS: tuple[CallPattern, ...] = (
    P("registry.usage", r"register_model\(|registered_model_name\s*=|create_registered_model\(|"
      r"create_model_version\(|set_registered_model_alias\(|transition_model_version_stage\(|"
      r"model_package_group_name\s*=|ModelPackageGroup\b"),
    P("metadata.described", r"update_registered_model\(|update_model_version\(|"
      r"set_registered_model_tag\(|set_model_version_tag\(|set_experiment_tag\(|"
      r"mlflow\.set_tags?\(", tools=("mlflow", "sagemaker", "azureml",
                                                           "vertex-ai", "wandb", "neptune", "clearml")),
    P("lineage.code", r"(set_tags?|log_params?)\(.*(git|commit|_sha|GIT_|GITHUB_SHA)"),
    P("lineage.data", r"mlflow\.log_input\(|mlflow\.data\.from_|dvc\.api\.(open|read|get_url)\(|"
      r"use_artifact\(|log_input\("),
    P("validation.gate", r"MetricThreshold\(|validation_thresholds\s*=|validate_evaluation_results\(|"
      r"ModelValidationFailedException"),
    P("fairness.check", r"MetricFrame\(|demographic_parity_(difference|ratio)\(|"
      r"equalized_odds_(difference|ratio)\(|BinaryLabelDatasetMetric\(|ClassificationMetric\(|"
      r"BiasConfig\(|run_bias\(|run_pre_training_bias\(|run_post_training_bias\(",
      categories=("fairness",), tools=("sagemaker",)),
    P("explainability.check", r"Explainer\(|shap\.\w+\(|explainers\.|LimeTabularExplainer\(|"
      r"LimeTextExplainer\(|IntegratedGradients\(|SHAPConfig\(|run_explainability\(|log_explanation\(",
      categories=("explainability",), tools=("sagemaker", "mlflow")),
    P("data_validation.check", r"ExpectationSuite\(|expect_\w+\(|run_checkpoint\(|add_checkpoint\(|"
      r"Checkpoint\(|\.validate\(|get_context\(|DataFrameSchema\(|DataFrameModel\b|SchemaModel\b|"
      r"Check\(|validate_statistics\(|infer_schema\(|VerificationSuite\(|Scan\(\)|check_schema\(",
      categories=("data_validation",)),
    P("monitoring.model_job", r"Report\(|TestSuite\(|DriftPreset|why\.log\(|\w+Drift\(|"
      r"DriftCalculator\(|PerformanceCalculator\(|DefaultModelMonitor\(|ModelQualityMonitor\(|"
      r"ModelBiasMonitor\(|create_monitoring_schedule\(|ModelMonitor\(",
      categories=("monitoring",), tools=("sagemaker",)),
    P("monitoring.model_metric", r"(Gauge|Histogram|Summary|Counter)\(\s*['\"][\w:]*"
      r"(predict|drift|model|inference|score|feature|accuracy)", tools=("prometheus-client",)),
    P("feature_store.definition", r"FeatureView\(|\bEntity\(|FeatureService\(|BatchFeatureView|"
      r"StreamFeatureView|FeatureGroup\(|create_feature_group\(|get_or_create_feature_group\(|"
      r"@batch_feature_view|@stream_feature_view|FeatureStore\(",
      categories=("feature_store",), tools=("sagemaker", "vertex-ai")),
    P("pipeline.definition", r"\bDAG\(|@dag\b|@dsl\.pipeline|@pipeline\b|dsl\.pipeline|@flow\b|"
      r"@job\b|@asset\b|Definitions\(|\(FlowSpec\)|\bPipeline\(|pipeline\(\s*\[|PipelineJob\(|"
      r"kfp\.compiler|Compiler\(\)\.compile|@workflow\b", categories=ORCH),
    P("schedule.job", r"schedule_interval\s*=|\bschedule\s*=\s*['\"@(]|ScheduleDefinition\(|"
      r"@schedule\b|CronSchedule\(|\bcron\s*=\s*['\"]|create_schedule\(|Schedule\(",
      categories=ORCH),
    P("distributed.workload", r"ray\.init\(|@ray\.remote|SparkSession\.builder|LocalCluster\(|"
      r"\bClient\(|hvd\.init\(|deepspeed\.initialize\(|init_process_group\(|"
      r"DistributedDataParallel\(|ScalingConfig\(|TorchTrainer\(|TorchDistributor\(|"
      r"instance_count\s*=\s*([2-9]|\d\d)", categories=("distributed_compute", "deep_learning"),
      tools=("sagemaker", "azureml", "vertex-ai")),
    P("serving.deployment", r"\.deploy\(|create_endpoint\(|@bentoml\.service|bentoml\.Service\(|"
      r"@serve\.deployment|serve\.run\(|get_deploy_client\(|create_deployment\(",
      categories=("serving",), tools=("sagemaker", "azureml", "vertex-ai", "mlflow")),
    P("serving.autoscaling", r"register_scalable_target\(|put_scaling_policy\(|autoscaling_config\s*="),
    P("model.reference", r"models:/[\w.-]+"),
)

MODEL_NAME = re.compile(
    r"register_model\([^,]+,\s*(?:name\s*=\s*)?['\"]([\w.-]+)['\"]|"
    r"registered_model_name\s*=\s*['\"]([\w.-]+)['\"]|"
    r"create_registered_model\(\s*(?:name\s*=\s*)?['\"]([\w.-]+)['\"]|"
    r"register_model\(\s*model_uri\s*=[^,]+,\s*name\s*=\s*['\"]([\w.-]+)['\"]")
MODEL_REF = re.compile(r"models:/([\w.-]+)")
