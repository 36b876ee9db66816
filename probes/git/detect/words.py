"""Judging a name, command or description by its words, never by substrings: identifiers are
split at ``_ - . /`` and camelCase first, so ``server`` is not ``serve``, ``constraint`` is not
``train`` and ``run_train_pipeline`` is training."""

from __future__ import annotations

from auditor.lazyre import lazy

_CAMEL = lazy(r"([a-z0-9])([A-Z])")
_NON_WORD = lazy(r"[^a-z0-9]+")

#: what a schedule runs, when it trains (``training data`` is data, not training)
TRAINS = lazy(r"\b(re)?train(s|ing|er)?\b(?! (data|dataset|datasets|set|stats|statistics|"
              r"baseline|split|path|uri|table)\b)|\bfit\b|\bmodel build\b")
#: a workload that serves predictions
SERVES = lazy(r"\b(models?|serve|serving|predict|predictor|prediction|predictions|inference|"
              r"infer|score|scoring|scorer|bentoml|triton|tritonserver|torchserve|kserve|"
              r"seldon|mlserver|invocations)\b")
#: workloads that are not model serving even when named after models (trackers, UIs, stores)
NOT_SERVING = lazy(r"\b(mlflow server|tracking|webserver|web server|airflow|jupyter|"
                   r"jupyterhub|jupyterlab|notebook|notebooks|postgres|postgresql|mysql|"
                   r"redis|minio|grafana|prometheus|dashboard|registry ui|ui|db|database)\b")


def words(text: str) -> str:
    """``runTrainPipeline --model_dir=x`` → ``run train pipeline model dir x``."""
    return _NON_WORD.sub(" ", _CAMEL.sub(r"\1 \2", text).lower()).strip()


def trains(text: str) -> bool:
    """Whether a schedule's command, name or target reads as (re)training."""
    return TRAINS.search(words(text)) is not None


def serves(text: str) -> bool:
    """Whether a workload's name, labels, image and command read as model serving."""
    w = words(text)
    return SERVES.search(w) is not None and NOT_SERVING.search(w) is None
