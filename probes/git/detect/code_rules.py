"""What real uses of known tools show: each rule matches the resolved dotted path of a call,
decorator or base class (see :mod:`probes.git.detect.code_ast`), a keyword argument of a tool's
call, or a dictionary key in a file that uses a tool.

Paths start with the imported module, so rules are specific to the tool: ``kfp.dsl.pipeline``
is a pipeline, ``sklearn.pipeline.Pipeline`` is not a tool at all; ``mlflow.register_model`` is a
registry call, a local ``register_model`` helper is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from auditor.lazyre import lazy
from probes.git.detect.code_ast import Use


@dataclass(frozen=True)
class Rule:
    signal: str
    path: str = ""  # regex searched in a call/decorator/base path
    kinds: frozenset[str] = frozenset({"call", "decorator", "base"})
    keyword: str = ""  # regex fully matching a keyword argument name of the tool's call
    key: str = ""  # regex fully matching a dictionary key / subscript string
    tools: frozenset[str] = frozenset()  # the path must belong to one of these tools...
    categories: frozenset[str] = frozenset()  # ...or to a tool of one of these categories
    unless: str = ""  # regex: a path matching it does not count
    check: Callable[[Use], bool] | None = None  # further condition on the use

    def __post_init__(self) -> None:
        for name in ("path", "keyword", "key", "unless"):
            value = getattr(self, name)
            object.__setattr__(self, f"_{name}", lazy(value) if value else None)

    def path_matches(self, path: str) -> bool:
        rx = self._path  # type: ignore[attr-defined]
        if rx is None or not rx.search(path):
            return False
        return self._unless is None or not self._unless.search(path)  # type: ignore[attr-defined]

    def keyword_matches(self, name: str) -> bool:
        rx = self._keyword  # type: ignore[attr-defined]
        return rx is not None and rx.fullmatch(name) is not None

    def key_matches(self, name: str) -> bool:
        rx = self._key  # type: ignore[attr-defined]
        return rx is not None and rx.fullmatch(name) is not None


def R(signal: str, path: str = "", *, tools: tuple[str, ...] = (), categories: tuple[str, ...] = (),
      keyword: str = "", key: str = "", unless: str = "", kinds: tuple[str, ...] = (),
      check: Callable[[Use], bool] | None = None) -> Rule:
    return Rule(signal, path, frozenset(kinds or ("call", "decorator", "base")), keyword, key,
                frozenset(tools), frozenset(categories), unless, check)


def _at_least_two(use: Use, names: tuple[str, ...]) -> bool:
    for name in names:
        value = use.keywords.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 2:
            return True
    return False


def _not_skipped(use: Use) -> bool:
    return use.keywords.get("skip_check") is not True


def _skipped(use: Use) -> bool:
    return use.keywords.get("skip_check") is True


def _model_metric(use: Use) -> bool:
    from probes.git.detect.words import words

    name = use.args[0] if use.args and isinstance(use.args[0], str) else str(use.keywords.get("name", ""))
    return re.search(r"\b(predict\w*|drift|models?|inference|score|scores|feature\w*|accuracy|"
                     r"confidence|prediction\w*)\b", words(name)) is not None


_REGISTRY = (r"(^|[._])(register_model|create_registered_model|create_model_version|"
             r"set_registered_model_alias|transition_model_version_stage|copy_model_version)([._(]|$)")
_CLOUD = ("sagemaker", "azureml", "vertex-ai")

RULES: tuple[Rule, ...] = (
    # -- model registry ---------------------------------------------------------------------
    R("registry.usage", _REGISTRY, tools=("mlflow",), keyword="registered_model_name"),
    R("registry.usage", r"(^|\.)(RegisterModel|ModelPackage|ModelPackageGroup)$|\(\)\.register$|"
      r"boto3\.client\(sagemaker\)\.(create_model_package|create_model_package_group|"
      r"update_model_package)$", tools=("sagemaker",), keyword="model_package_group_name"),
    R("registry.usage", r"\bModel\.register$|\.register_model$|\.models\.create_or_update$",
      tools=("azureml",)),
    R("registry.usage", r"(^|\.)Model\.upload(_\w+)?$|ModelRegistry|\.add_version_aliases$|"
      r"\.upload_model$", tools=("vertex-ai",), keyword="parent_model"),
    R("registry.usage", r"\.repository\.(store_model|create_model_revision|create_revision)$",
      tools=("ibm-watson-ml",)),
    R("metadata.described", r"(^|\.)(update_registered_model|update_model_version|"
      r"set_registered_model_tag|set_model_version_tag|set_experiment_tag|set_tags?)$",
      tools=("mlflow", "sagemaker", "azureml", "vertex-ai", "wandb", "neptune", "clearml")),
    # -- lineage -------------------------------------------------------------------------------
    R("lineage.code", r"(^|\.)(set_tags?|log_params?)$", categories=("experiment_tracking",),
      check=lambda u: bool(re.search(r"git|commit|_sha|GITHUB_SHA|CI_COMMIT", _text(u)))),
    R("lineage.data", r"(^|\.)log_input$|mlflow\.data\.from_\w+|dvc\.api\.(open|read|get_url)$|"
      r"\.use_artifact$", tools=("mlflow", "dvc", "wandb")),
    # -- validation, fairness, explainability -----------------------------------------------------
    R("validation.gate", r"(^|\.)(MetricThreshold|validate_evaluation_results|ConditionStep|"
      r"ConditionGreaterThan(OrEqualTo)?|ConditionLessThan(OrEqualTo)?)$", tools=("mlflow", "sagemaker"),
      keyword="validation_thresholds"),
    R("fairness.check", r"(^|\.)(MetricFrame|demographic_parity_\w+|equalized_odds_\w+|"
      r"ThresholdOptimizer|ExponentiatedGradient|BinaryLabelDatasetMetric|ClassificationMetric|"
      r"Reweighing|BiasConfig|run_bias|run_pre_training_bias|run_post_training_bias|"
      r"ModelBiasMonitor)$|\.fairness\.", tools=("fairlearn", "aif360", "sagemaker", "responsibleai")),
    R("explainability.check", r".", categories=("explainability",), tools=("responsibleai",)),
    R("explainability.check", r"(^|\.)(SHAPConfig|run_explainability|ExplainabilityConfig|"
      r"ModelExplainabilityMonitor|ExplanationMetadata|ExplanationParameters|log_explanation)$|"
      r"mlflow\.shap\.", tools=("sagemaker", "mlflow", "vertex-ai", "azureml"),
      keyword="explanation_(metadata|parameters|spec)"),
    # -- data validation and monitoring --------------------------------------------------------
    R("data_validation.check", r".", tools=("pandera", "great-expectations", "tfdv", "deequ", "soda",
                                            "deepchecks")),
    R("data_validation.check", r"TestSuite|test_preset|\.tests\.|(^|[._])tests?(_step)?$",
      tools=("evidently",)),
    R("data_validation.check", r"(^|\.)(ExampleValidator|SchemaGen|StatisticsGen)$", tools=("tfx",)),
    R("monitoring.model_job", r".", tools=("evidently",),
      unless=r"TestSuite|test_preset|\.tests\.|(^|[._])tests?(_step)?$"),
    R("monitoring.model_job", r".", tools=("whylogs", "nannyml", "alibi-detect")),
    R("monitoring.model_job", r"(^|\.)(DefaultModelMonitor|ModelQualityMonitor|ModelBiasMonitor|"
      r"ModelExplainabilityMonitor|create_monitoring_schedule|ModelMonitor)$|"
      r"boto3\.client\(sagemaker\)\.create_monitoring_schedule$", tools=("sagemaker",)),
    R("monitoring.model_job", r"(^|\.)QualityCheckStep$|(^|\.)ClarifyCheckStep$", tools=("sagemaker",),
      check=_not_skipped),
    R("monitoring.baseline", r"(^|\.)QualityCheckStep$|(^|\.)ClarifyCheckStep$|suggest_baseline$",
      tools=("sagemaker",), check=_skipped),
    R("monitoring.prediction_log", r"(^|\.)DataCaptureConfig$", tools=("sagemaker",)),
    R("monitoring.model_job", r"ModelDeploymentMonitoringJob|model_monitoring\.|"
      r"(^|\.)(SkewDetectionConfig|DriftDetectionConfig|ObjectiveConfig)$", tools=("vertex-ai",),
      keyword="model_monitoring_config|objective_configs", key="modelMonitoringConfig|model_monitoring_config"),
    R("monitoring.model_job", r"(^|\.)(DataDriftDetector|MonitorSchedule|MonitorDefinition|"
      r"DataDriftSignal|PredictionDriftSignal)$", tools=("azureml",)),
    R("monitoring.model_metric", r"(^|\.)(Gauge|Histogram|Counter|Summary)$", tools=("prometheus-client",),
      check=_model_metric),
    R("monitoring.prediction_log", r"(^|\.)(FluentSender|FluentHandler|Event|emit)$|\(\)\.(emit|index)$",
      tools=("fluent-logger", "elasticsearch", "opensearch"),
      check=lambda u: _about_predictions(u)),
    # -- features, pipelines, schedules, distribution ------------------------------------------
    R("feature_store.definition", r".", tools=("feast", "tecton", "hopsworks")),
    R("feature_store.definition", r"(^|\.)(FeatureGroup|FeatureStore|FeatureDefinition)$|"
      r"\.feature_store\.|create_feature_group$|boto3\.client\(sagemaker-featurestore-runtime\)",
      tools=("sagemaker",)),
    R("feature_store.definition", r"(^|\.)(Featurestore|EntityType|FeatureOnlineStore|FeatureView|"
      r"FeatureGroup)$|featurestore\.|feature_store\.", tools=("vertex-ai",)),
    R("pipeline.definition", r"(^|\.)(pipeline|Pipeline|DAG|dag|flow|Flow|job|asset|Definitions|"
      r"FlowSpec|PipelineJob|workflow|Workflow|WorkflowTemplate|CronWorkflow|PipelineController|"
      r"PublishedPipeline|Recipe)$|compiler\.Compiler\(\)\.compile$|create_run_from_pipeline_\w+$",
      categories=("orchestration",), unless=r"^sagemaker\.(?!workflow)|sagemaker\.workflow\.(steps|"
      r"step_collections)|^zenml\.integrations\.|^airflow\.providers\."),
    R("schedule.job", r"(^|\.)(ScheduleDefinition|schedule|CronSchedule|IntervalSchedule|"
      r"PipelineSchedule|PipelineJobSchedule|JobSchedule|RecurrenceTrigger|CronTrigger|"
      r"create_schedule|create_recurring_run|build_schedule_from_partitioned_job)$|"
      r"\bSchedule\.create$|(^|\.)(serve|deploy)$", categories=("orchestration",),
      keyword="schedule_interval|schedule|cron|cron_schedule|timetable",
      unless=r"^sagemaker\.(?!workflow)"),
    R("distributed.workload", r"(^|\.)(init|remote)$|SparkSession\.builder|LocalCluster$|(^|\.)Client$|"
      r"hvd\.init$|deepspeed\.initialize$|init_process_group$|DistributedDataParallel$|"
      r"ScalingConfig$|TorchTrainer$|TorchDistributor$", categories=("distributed_compute",)),
    R("distributed.workload", r"init_process_group$|DistributedDataParallel$",
      categories=("deep_learning",)),
    R("distributed.workload", r".", tools=_CLOUD,
      check=lambda u: _at_least_two(u, ("instance_count", "replica_count", "node_count"))),
    # -- serving -------------------------------------------------------------------------------
    R("serving.deployment", r"\(\)\.deploy$|(^|\.)deploy$|create_endpoint$|update_endpoint$|"
      r"(^|\.)(Endpoint\.create|AciWebservice|AksWebservice|LocalWebservice|ManagedOnlineEndpoint|"
      r"ManagedOnlineDeployment|KubernetesOnlineEndpoint|KubernetesOnlineDeployment)$|"
      r"online_endpoints\.begin_create_or_update$|online_deployments\.begin_create_or_update$|"
      r"boto3\.client\(sagemaker\)\.(create_endpoint|update_endpoint)$", tools=_CLOUD,
      unless=r"deploy_config$"),
    R("serving.deployment", r"get_deploy_client|create_deployment$|mlflow\.sagemaker\.|"
      r"(^|[._])deploy(er|ment)?([._]|$)", tools=("mlflow",)),
    R("serving.deployment", r"(^|\.)(service|Service|api|Runner|runner|deployment|run|start|"
      r"Model|MLModel|BaseHandler|ModelServer|KServeClient|SeldonClient)$|\(\)\.(create|start)$|"
      r"(^|[._])deploy(er|ment)?([._]|$)|\.deployments\.create$",
      tools=("bentoml", "kserve", "seldon", "torchserve",
                                                   "ray-serve", "ibm-watson-ml")),
    R("serving.autoscaling", r"register_scalable_target$|put_scaling_policy$",
      tools=("aws:application-autoscaling",), keyword="autoscaling_config"),
    R("serving.autoscaling", r".", tools=("ray-serve",), keyword="autoscaling_config"),
    # -- model documentation -----------------------------------------------------------------
    R("docs.model_card", r".", categories=("model_documentation",)),
)


def _text(use: Use) -> str:
    import ast

    try:
        return ast.unparse(use.node) if use.node is not None else ""
    except Exception:  # pragma: no cover - unparse of odd nodes
        return ""


def _about_predictions(use: Use) -> bool:
    from probes.git.detect.words import serves

    return serves(_text(use) + " " + " ".join(str(a) for a in use.args if isinstance(a, str)))


#: tools whose categories need a specific kind of use: category → regex over the use's path.
#: Other (tool, category) pairs are credited by any call, decorator or base class.
USES: dict[tuple[str, str], str] = {
    ("mlflow", "experiment_tracking"): r"(^|[._])(start_run|log_\w+|autolog|set_experiment|"
                                       r"create_experiment|create_run|set_tracking_uri|end_run|"
                                       r"MLFlowLogger|MLflowCallback|experiment_trackers?)([._(]|$)",
    ("mlflow", "model_registry"): _REGISTRY,
    ("sagemaker", "experiment_tracking"): r"create_(experiment|trial|trial_component)$|"
                                          r"associate_trial_component$",
    ("sagemaker", "orchestration"): r"sagemaker\.workflow\.|airflow\.providers\.|"
                                    r"create_pipeline$|start_pipeline_execution$",
    ("sagemaker", "serving"): r"deploy$|Predictor|[Ee]ndpoint|invoke_endpoint$",
    ("sagemaker", "model_registry"): r"(^|\.)(RegisterModel|ModelPackage|ModelPackageGroup)$|"
                                     r"\(\)\.register$|model_package",
    ("azureml", "experiment_tracking"): r"Run\.get_context\(\)|start_logging|(^|\.)log(_\w+)?$|"
                                        r"Experiment\(\)\.submit$|\.jobs\.create_or_update$",
    ("azureml", "orchestration"): r"pipeline|Pipeline|Step$|dsl\.",
    ("azureml", "serving"): r"deploy|Webservice|OnlineEndpoint|OnlineDeployment|online_endpoints|"
                            r"InferenceConfig",
    ("azureml", "model_registry"): r"Model\.register$|register_model$|models\.create_or_update$",
    ("vertex-ai", "experiment_tracking"): r"(^|\.)(start_run|end_run|log_params|log_metrics|"
                                          r"log_time_series_metrics|log_classification_metrics|"
                                          r"log_model|autolog|ExperimentRun|Experiment|"
                                          r"start_upload_tb_log|upload_tb_log|Tensorboard\w*)$",
    ("vertex-ai", "orchestration"): r"PipelineJob|pipeline|dsl\.|google_cloud_pipeline_components",
    ("vertex-ai", "serving"): r"Endpoint|deploy",
    ("vertex-ai", "model_registry"): r"Model\.upload|ModelRegistry|add_version_aliases|upload_model",
    ("evidently", "data_validation"): r"TestSuite|test_preset|\.tests\.|(^|[._])tests?(_step)?$",
    ("evidently", "monitoring"): r"^(?!.*(TestSuite|test_preset|\.tests\.)).*$",
    ("ibm-watson-ml", "model_registry"): r"\.repository\.",
    ("ibm-watson-ml", "serving"): r"\.deployments\.",
}

#: boto3 client services that stand for a known tool (``boto3.client("sagemaker")``)
BOTO3_TOOLS = {"sagemaker": "sagemaker", "sagemaker-runtime": "sagemaker",
               "sagemaker-featurestore-runtime": "sagemaker", "sagemaker-a2i-runtime": "sagemaker"}


def boto3_tool(path: str) -> str | None:
    """``boto3.client(sagemaker).create_endpoint`` → ``sagemaker``; another service → ``aws:<service>``."""
    m = re.match(r"boto3\.(?:client|resource)\(([\w-]+)\)", path)
    if not m:
        return None
    return BOTO3_TOOLS.get(m.group(1), f"aws:{m.group(1)}")
