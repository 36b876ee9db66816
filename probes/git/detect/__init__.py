"""Detectors: each reads the few files that matter for one area and yields evidence.

Each module declares its ``DETECTOR`` (:class:`probes.git.declare.Detector`); :func:`detectors`
lists them in the order they run."""

from __future__ import annotations

from probes.git.declare import Detector, ordered


def detectors() -> list[Detector]:
    from probes.git import history
    from probes.git.detect import (
        ci,
        code,
        data,
        dependencies,
        environment,
        governance,
        iac,
        manifests,
    )

    return ordered([history.DETECTOR, environment.DETECTOR, dependencies.DETECTOR, ci.DETECTOR,
                    manifests.DETECTOR, iac.DETECTOR, data.DETECTOR, governance.DETECTOR,
                    code.DETECTOR])
