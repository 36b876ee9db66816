"""MLflow probe: tracking server, experiments, a bounded sample of runs, the model registry.

Reads through MLflow's own REST client (``mlflow-skinny`` is enough), imported only while the
probe runs. See docs/probes/mlflow.md for the target settings, signals and permissions.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, ClassVar

from auditor.evidence import Evidence, Unobserved
from auditor.probe import Probe, ProbeContext, Settings, Target
from probes.mlflow.settings import MlflowSettings
from probes.mlflow.signals import ALL_SIGNALS

__all__ = ["MlflowProbe", "MlflowSettings"]


class MlflowProbe(Probe):
    kind = "mlflow"
    signals: ClassVar[tuple[str, ...]] = ALL_SIGNALS
    settings_model: ClassVar[type[Settings]] = MlflowSettings
    description = ("MLflow tracking server and model registry: experiments, newest runs, "
                   "lineage, checks, registered models, tempo")

    def prepare(self) -> None:
        """MLflow's REST client and its protobuf parsing, imported once before any thread."""
        for module in ("requests.exceptions", "google.protobuf.json_format", "mlflow.entities",
                       "mlflow.exceptions", "mlflow.utils.rest_utils", "mlflow.utils.credentials",
                       "mlflow.utils.proto_json_utils", "mlflow.utils.databricks_utils",
                       "mlflow.store.tracking.rest_store",
                       "mlflow.store.model_registry.rest_store"):
            importlib.import_module(module)

    def collect(self, target: Target, ctx: ProbeContext) -> Iterator[Evidence | Unobserved]:
        from probes.mlflow.collect import collect

        yield from collect(target, ctx)

    def target_from_argument(self, argument: str) -> dict[str, Any] | None:
        """``mlflow+http(s)://host:port`` or ``databricks[://profile]``."""
        if argument.startswith(("mlflow+http://", "mlflow+https://")):
            return {"tracking_uri": argument.removeprefix("mlflow+")}
        if argument == "databricks" or argument.startswith("databricks://"):
            return {"tracking_uri": argument}
        return None
