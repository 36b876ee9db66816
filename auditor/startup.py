"""The cyclic garbage collector held off while a command starts.

Start-up imports a few hundred modules (pydantic, the catalog, the probes) and creates
nothing that is garbage: every object it makes lives as long as the process. The collector
still runs some fifty times over them meanwhile, about 8 ms of a one-file audit. So the
``mlops-auditor`` process holds it (:func:`hold_gc`: ``cli.main``, or ``python -m auditor``
before its first import) until its probes start (:func:`release_gc`, from
``runner.run_probes``; a command that runs none releases it as it starts). What start-up made is then moved out of the collector's sight (``gc.freeze``), so
it is not scanned on every later collection either, and forked workers do not write to its
pages when they collect (the use the ``gc`` documentation describes). A caller of the
library or of ``cli`` in its own process (a test runner) keeps its collector as it is.
"""

from __future__ import annotations

import gc

#: whether :func:`hold_gc` turned the collector off (and :func:`release_gc` is to turn it on)
_held = False


def hold_gc() -> None:
    """Turn the collector off until :func:`release_gc`, unless something else already has."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release_gc() -> None:
    """Undo :func:`hold_gc` (nothing if it did nothing): freeze what exists, collect again."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()
