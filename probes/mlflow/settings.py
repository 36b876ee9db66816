"""Target settings of an ``mlflow`` target (validated from audit.yaml)."""

from __future__ import annotations

from pydantic import Field, field_validator

from auditor.limits import MAX_RESPONSE_BYTES
from auditor.probe import Settings

_SCHEMES = ("http://", "https://", "databricks")


def _check_uri(value: str) -> str:
    if not value.startswith(_SCHEMES):
        raise ValueError("must be an http(s):// URL of an MLflow server or 'databricks[://profile]'")
    return value.rstrip("/")


class MlflowSettings(Settings):
    """Where the server is, how much to read, and how long to wait.

    Credentials are not settings: they come from the environment the way MLflow users set them
    (``MLFLOW_TRACKING_TOKEN``, ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, a Databricks profile).
    ``token_env`` / ``username_env`` / ``password_env`` name *other* environment variables to
    read instead, so two targets in one audit can use different credentials.
    """

    tracking_uri: str
    registry_uri: str | None = None
    #: newest runs read per experiment; cost grows with this, never with the total run count
    max_runs_per_experiment: int = Field(default=1000, ge=1, le=50_000)
    #: newest model versions read across the registry
    max_model_versions: int = Field(default=10_000, ge=1, le=200_000)
    #: runs per search request (MLflow servers accept up to 50,000)
    runs_page_size: int = Field(default=5000, ge=10, le=50_000)
    #: seconds one HTTP request may take (connect + read), further bounded by the probe timeout
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    #: retries of one request on connection errors and 429/5xx answers
    max_retries: int = Field(default=2, ge=0, le=10)
    #: largest answer read from the server (one page of runs ...); a larger one is not read
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, ge=64 * 1024)
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None

    @field_validator("tracking_uri")
    @classmethod
    def _tracking(cls, value: str) -> str:
        return _check_uri(value)

    @field_validator("registry_uri")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        return None if value is None else _check_uri(value)
