"""A build's overall state, derived from its source status and its chroots, and stored.

Every transition calls :func:`refresh_state`, so ``Build.state`` is always right in the
database and lists can filter on it.  The order below decides what a mixed build shows:
anything still in progress wins, then failure, then success.
"""

from __future__ import annotations

from copr_common.enums import FINISHED_STATES, StatusEnum
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.db import now

# When chroots disagree, the first state here that any chroot is in is the build's state.
_CHROOT_PRECEDENCE = (
    StatusEnum.running,
    StatusEnum.starting,
    StatusEnum.importing,
    StatusEnum.pending,
    StatusEnum.waiting,
    StatusEnum.unknown,
    StatusEnum.failed,
    StatusEnum.canceled,
    StatusEnum.succeeded,
    StatusEnum.forked,
    StatusEnum.skipped,
)

# Source states that decide the build's state on their own (the chroots wait on them).
_SOURCE_DECIDES = {
    StatusEnum.pending,
    StatusEnum.starting,
    StatusEnum.running,
    StatusEnum.importing,
    StatusEnum.failed,
    StatusEnum.canceled,
    StatusEnum.skipped,
}


def compute_state(build: Build) -> StatusEnum:
    if build.canceled:
        return StatusEnum.canceled
    if build.source_status in _SOURCE_DECIDES or not build.chroots:
        return build.source_status
    statuses = {c.status for c in build.chroots}
    for state in _CHROOT_PRECEDENCE:
        if state in statuses:
            return state
    return StatusEnum.unknown


def is_finished(build: Build) -> bool:
    return build.state in FINISHED_STATES


def refresh_state(build: Build) -> StatusEnum:
    """Store the build's state; stamps ``ended_on`` when it reaches a final state."""
    state = compute_state(build)
    build.state = state
    if state in FINISHED_STATES:
        if build.ended_on is None:
            ended = [c.ended_on for c in build.chroots if c.ended_on is not None]
            build.ended_on = max(ended) if ended else now()
    else:
        build.ended_on = None
    return state


def set_chroot_status(chroot: BuildChroot, status: StatusEnum, when: int | None = None) -> None:
    """Move one chroot task to ``status`` and keep its times and its build's state right."""
    chroot.status = status
    if status in (StatusEnum.starting, StatusEnum.running) and chroot.started_on is None:
        chroot.started_on = when or now()
    if status in FINISHED_STATES:
        chroot.ended_on = when or chroot.ended_on or now()
    elif status in (StatusEnum.pending, StatusEnum.waiting, StatusEnum.importing):
        chroot.started_on = None
        chroot.ended_on = None
    refresh_state(chroot.build)


def set_source_status(build: Build, status: StatusEnum) -> None:
    build.source_status = status
    refresh_state(build)
