"""Target settings of an ``aws`` target (validated from audit.yaml; unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from auditor.limits import MAX_RESPONSE_BYTES
from auditor.probe import Settings


class AwsSettings(Settings):
    """Where and as whom to look.

    Credentials: ``role_arn`` (assumed read-only, optionally from ``profile``), else
    ``profile``, else boto3's default chain (environment, instance role, SSO ...).
    """

    profile: str | None = None
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    external_id: str | None = None
    #: a list of regions, "all-enabled" (ec2:DescribeRegions), or None = the session's region
    regions: list[str] | Literal["all-enabled"] | None = None
    #: for private endpoints (VPC endpoints, FIPS) and for tests against moto
    endpoint_url: str | None = None
    #: botocore adaptive retry mode: attempts per call (throttling, 5xx)
    max_attempts: int = Field(default=5, ge=1, le=10)
    #: largest answer read from one API call; a larger one is not read
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, ge=64 * 1024)
    #: regions audited at the same time
    parallel_regions: int = Field(default=4, ge=1, le=16)
    #: "recent" activity window (training jobs, pipeline executions, model versions)
    recent_days: int = Field(default=28, ge=1, le=365)
    #: S3 buckets whose name matches this pattern are treated as data/model buckets
    ml_bucket_pattern: str = (
        r"(?i)(^|[-_.])(ml|mlops|model|models|data|dataset|datasets|feature|features|"
        r"sagemaker|training|artifact|artifacts|mlflow|lake|datalake)([-_.]|$)"
    )

    @field_validator("regions")
    @classmethod
    def _non_empty(cls, value: list[str] | str | None) -> list[str] | str | None:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one region, or 'all-enabled'")
        return value
