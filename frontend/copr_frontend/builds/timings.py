"""Stage timings: when each step from submit to installable happened, to watch latency.

The frontend stamps ``submitted``; the backend worker reports the stages of a task it
runs (with its ``/backend/update/`` reports) and dist-git the import's (with
``/backend/import-completed/``).  Times are Unix seconds with a fraction, since the
stages that matter here take well under a second.

A build's ``timings`` hold ``submitted``, the source task's stages prefixed ``source_``
and ``import_started``/``import_ended``; a build chroot's hold its RPM task's stages.
A later report of a stage replaces the earlier one (a rescheduled task ran again).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

TASK_STAGES = ("started", "builder_leased", "build_ended", "signed", "published", "ended")
"""A backend task's stages, in the order they happen (a source task is never published)."""
IMPORT_STAGES = ("import_started", "import_ended")
BUILD_STAGES = (
    "submitted",
    *(f"source_{stage}" for stage in TASK_STAGES if stage != "published"),
    *IMPORT_STAGES,
)
"""A build's own stages, in the order they happen."""

_MAX_SKEW = 24 * 3600.0
"""How far in the future a reported time may lie (hosts' clocks differ a little)."""


class TimingsError(ValueError):
    """Reported timings that are malformed; the message says what is wrong."""


def stamp() -> float:
    """Now, as a stage time: Unix seconds, to the millisecond."""
    return round(time.time(), 3)


def parse(value: Any, allowed: tuple[str, ...]) -> dict[str, float]:
    """``value`` checked as a ``{stage: unix_seconds}`` object of ``allowed`` stages."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TimingsError("'timings' must be an object of stage names to Unix times")
    parsed: dict[str, float] = {}
    latest = time.time() + _MAX_SKEW
    for stage, when in value.items():
        if stage not in allowed:
            raise TimingsError(
                f"unknown stage {stage!r} in 'timings' (known: {', '.join(allowed)})"
            )
        if (
            isinstance(when, bool)
            or not isinstance(when, int | float)
            or not math.isfinite(when)
            or not 0 < when <= latest
        ):
            raise TimingsError(f"timing of {stage!r} must be a Unix time, got {when!r}")
        parsed[str(stage)] = round(float(when), 3)
    return parsed


def merged(current: Mapping[str, float] | None, reported: Mapping[str, float]) -> dict[str, float]:
    """``current`` with ``reported`` laid over it, as a new dict (so the ORM sees a change)."""
    return {**(current or {}), **reported}


def ordered(timings: Mapping[str, float] | None, stages: tuple[str, ...]) -> dict[str, float]:
    """``timings`` of ``stages``, in their order.

    JSON answers sort their keys: clients order the stages by time, or by
    :data:`BUILD_STAGES` and :data:`TASK_STAGES`.
    """
    timings = timings or {}
    return {stage: timings[stage] for stage in stages if stage in timings}


def source_stages(reported: Mapping[str, float]) -> dict[str, float]:
    """A source task's stages as the build keeps them (``started`` → ``source_started``)."""
    return {f"source_{stage}": when for stage, when in reported.items()}
