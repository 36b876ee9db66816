"""Turning Kubernetes objects into evidence. The one place that judges what an object shows.

Live listing and snapshot files both feed :class:`Classifier`, object by object, with the
object's API group and kind given explicitly (live list items of built-in kinds carry no
``kind``). Each kind's handler is named in the kind table (:mod:`probes.kubernetes.kinds`)
and lives in the module of its domain: access, pipelines, serving, training, monitoring.
Facts that need several kinds at once are kept as small records and turned into evidence by
:meth:`Classifier.finish` (:mod:`.base`), so the result does not depend on the order objects
arrive in.
"""

from __future__ import annotations

from .access import AccessHandlers
from .base import ClassifierBase
from .monitoring import MonitoringHandlers
from .pipelines import PipelinesHandlers
from .serving import ServingHandlers
from .training import TrainingHandlers

__all__ = ["Classifier", "ClassifierBase"]


class Classifier(AccessHandlers, PipelinesHandlers, ServingHandlers, TrainingHandlers,
                 MonitoringHandlers):
    """Every handler, over the shared state of :class:`ClassifierBase`."""
