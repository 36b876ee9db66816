"""The AWS probe: SageMaker, S3, ECR, CloudWatch, EventBridge, CodePipeline/CodeBuild,
CloudTrail, Budgets and IAM, read-only.

Importing this package is cheap: boto3 is imported only inside :meth:`AwsProbe.collect`.
Layout: ``collect`` orchestrates (identity, regions in parallel, aggregates); ``scan`` holds the
paging/error machinery; one module per service area (``research``, ``training``,
``pipelines``, ``serving``, ``features``, ``registry``, ``model_monitor``, ``alarms``,
``events``, ``cicd``, ``ecr``, ``s3``, ``account``); ``actions`` lists every API call and the
IAM action it needs (the source of docs/permissions/aws-readonly-policy.json).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from auditor.evidence import Evidence, Unobserved
from auditor.probe import Probe, ProbeContext, Settings, Target
from probes.aws.settings import AwsSettings
from probes.aws.signals import SIGNALS

__all__ = ["AwsProbe", "AwsSettings"]


class AwsProbe(Probe):
    kind: ClassVar[str] = "aws"
    description: ClassVar[str] = ("AWS account: SageMaker (Studio, training, pipelines, endpoints, "
                                  "registry, Model Monitor), S3, ECR, CloudWatch, EventBridge, "
                                  "CodePipeline/CodeBuild, CloudTrail, Budgets, IAM")
    settings_model: ClassVar[type[Settings]] = AwsSettings
    default_timeout: ClassVar[float] = 600.0
    signals: ClassVar[tuple[str, ...]] = SIGNALS

    def __init__(self, hooks: Sequence[tuple[str, Callable[..., Any]]] = ()) -> None:
        #: botocore event hooks (``("before-call", fn)``) registered on every session:
        #: how the benchmark counts calls and the tests record every operation
        self.hooks = tuple(hooks)

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """``aws://<profile>[/<region>,<region>]`` or a role ARN to assume."""
        if argument.startswith("arn:aws") and ":role/" in argument:
            return {"name": "aws-" + argument.split(":")[4], "role_arn": argument}
        if argument.startswith("aws://"):
            profile, _, regions = argument[len("aws://"):].partition("/")
            raw: dict[str, Any] = {"name": f"aws-{profile or 'default'}"}
            if profile and profile != "default":
                raw["profile"] = profile
            if regions:
                raw["regions"] = ("all-enabled" if regions == "all-enabled"
                                  else [r for r in regions.split(",") if r])
            return raw
        return None

    def prepare(self) -> None:
        """boto3 and the botocore parts the probe uses, imported once before any thread."""
        for module in ("boto3", "botocore", "botocore.config", "botocore.exceptions",
                       "botocore.parsers", "botocore.paginate", "botocore.httpsession"):
            importlib.import_module(module)

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from probes.aws.collect import collect

        yield from collect(target, ctx, self.signals, self.hooks)
