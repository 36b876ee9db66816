"""Targets generated from what exists instead of listed by hand.

A target entry with a ``discover:`` key stands for every thing of its kind found where it
points: each git repository under a folder, each context of a kubeconfig, each ACTIVE
account of an AWS Organization (through a role assumed in each), each repository of an OCI
registry. Discovery runs while the configuration loads and yields ordinary targets, so
everything after it (collect, shards, assess) sees a plain list.

A discovery that fails, wholly or partly (root missing, kubeconfig unreadable,
Organizations access denied), does not stop the audit: its entry becomes one target whose
settings are :class:`Undiscovered`, reported as not observed with one line per problem, and
the targets it did find are audited.

This module stays import-light (the audit imports it for :class:`Undiscovered`); the work is
in :mod:`auditor.discovery.entries` and one module per kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.evidence import Unobserved
    from auditor.probe import Target


@dataclass(frozen=True)
class Undiscovered:
    """Settings of the target standing for a discovery that failed (or found only part of
    what it should have): nothing is collected for it; each problem is one unobserved line
    covering the signals its kind could have shown, so what it might have held is unknown,
    never absent."""

    what: str
    problems: tuple[str, ...]
    signals: tuple[str, ...] = ()

    def unobserved(self, target: Target) -> list[Unobserved]:
        from auditor.evidence import Unobserved

        return [Unobserved(target=target.name, probe=target.kind, what=self.what, reason=p,
                           signals=self.signals) for p in self.problems]

    def fail(self) -> None:
        """Raised where the target's probe would run: the runner records it as the target's
        error (status ``error``, every signal of its kind not observed)."""
        raise DiscoveryFailed("; ".join(self.problems))

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """Like a probe's settings model, for writers that store a target's settings."""
        return {"undiscovered": self.what, "problems": list(self.problems)}


class DiscoveryFailed(Exception):
    """A discovery could not see (all of) what it should have; one line per problem."""


def expand(listed: list[Target], entries: list[tuple[int, dict[str, Any]]], base: Path,
           file: str, lines: dict[tuple, int]) -> list[Target]:
    """The listed targets followed by every discovered one (see :mod:`.entries`)."""
    from auditor.discovery.entries import expand as run

    return run(listed, entries, base, file, lines)
