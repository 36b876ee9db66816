"""Metric-name patterns of model servers: seeing them scraped means a model is being served."""

from __future__ import annotations

import re

#: framework → PromQL/RE2-compatible regex on ``__name__`` (anchored by Prometheus)
SERVING_PATTERNS: dict[str, str] = {
    "triton": r"nv_inference_.*",
    "kserve": r"kserve_.*|request_(preprocess|predict|postprocess|explain)_seconds.*",
    "seldon": r"seldon_.*",
    "mlserver": r"model_infer_request_.*",
    "torchserve": r"ts_.*",
    "bentoml": r"bentoml_.*",
    "ray-serve": r"ray_serve_.*",
}

#: label names that carry the served model's name, most specific first; the first three
#: name a model (a registered model name can match), the rest name a deployment
MODEL_LABELS: tuple[str, ...] = ("model_name", "model", "ModelName", "deployment_name",
                                 "deployment", "service_name")
MODEL_NAME_LABELS = frozenset({"model_name", "model", "ModelName"})

_COMPILED = {name: re.compile(f"^(?:{rx})$") for name, rx in SERVING_PATTERNS.items()}


def serving_regex() -> str:
    return "|".join(f"(?:{rx})" for rx in SERVING_PATTERNS.values())


def framework_of(metric: str) -> str | None:
    for name, rx in _COMPILED.items():
        if rx.match(metric):
            return name
    return None
