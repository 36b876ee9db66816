"""The cyclic garbage collector held off while a command starts.

Start-up imports a few hundred modules (pydantic, the catalog, the probes) and creates
nothing that is garbage: every object it makes lives as long as the process. The collector
still runs some fifty times over them meanwhile, about 8 ms of a one-file audit. So the
``mlops-auditor`` process holds it (:func:`hold_gc`: ``cli.main``, or ``python -m auditor``
before its first import) until its probes start (:func:`release_gc`, from
``runner.run_probes``; a command that runs none releases it as it starts). What start-up
made is then moved out of the collector's sight (``gc.freeze``), so it is not scanned on
every later collection either, and forked workers do not write to its pages when they
collect (the use the ``gc`` documentation describes). A caller of the
library or of ``cli`` in its own process (a test runner) keeps its collector as it is.

Once the probes are done (:func:`hold_after_probes`, from ``runner.run_probes``), what the
process does until it exits is the same kind of work: links, the engine and the reports build
data that lives to the end (an assessment is about a million objects at two thousand
repositories) and make next to no cyclic garbage. Each full collection would scan all of it
again, a cost that grows faster than the fleet: at two thousand repositories it was half of
the assessment's time. So the ``mlops-auditor`` process holds the collector again from then
on (a second round of probes, the links pass, releases it as the first did); its peak memory
is unchanged.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: whether :func:`hold_gc` turned the collector off (and :func:`release_gc` is to turn it on)
_held = False
#: whether this process is the ``mlops-auditor`` command's (it held the collector at start):
#: only then is the collector held again after the probes
_command = False


def hold_gc() -> None:
    """Turn the collector off until :func:`release_gc`, unless something else already has."""
    global _held, _command
    if gc.isenabled():
        gc.disable()
        _held = _command = True


def release_gc() -> None:
    """Undo :func:`hold_gc` (nothing if it did nothing): freeze what exists, collect again."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def hold_after_probes() -> None:
    """The probes are done: hold the collector again until the next probes or the exit, in
    the ``mlops-auditor`` process only (see the module's docstring)."""
    global _held
    if _command and not _held and gc.isenabled():
        gc.disable()
        _held = True


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """The collector off for a block that only gathers long-lived data (a parent process
    receiving its workers' outcomes), as it was afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
