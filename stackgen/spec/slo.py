"""Service level objectives and their multi-window multi-burn-rate alerts."""

from __future__ import annotations

from stackgen.spec.types import StrictModel


class SLO(StrictModel):
    """One SLO of a service."""
