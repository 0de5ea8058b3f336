"""Canceling many builds at once: a list of builds, all of a project's queued ones, or
the unfinished builds of a rebuild wave.  Never commits.

A list is canceled all or nothing: when one of the builds has already ended, none is
canceled, so a caller never has to find out which part of its request took effect.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import StatusEnum
from copr_frontend.builds.dependents import wave_builds
from copr_frontend.builds.models import Build, RebuildWave
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.projects.models import Project

QUEUED_STATES = (StatusEnum.pending, StatusEnum.importing, StatusEnum.waiting)
"""What "pending" means to :func:`cancel_pending`: a build no builder has taken yet
(its source build queued, its SRPM importing into dist-git, or its chroots waiting for
it); a build that is starting or running is left alone."""


class CancelError(ValueError):
    """Some of the builds cannot be canceled; the message names them and says why."""


def cancel_builds(session: Session, builds: Sequence[Build]) -> list[int]:
    """Cancel every build of ``builds``, or none of them; the ids canceled.

    Raises :class:`CancelError` when any of them has already ended (or was canceled).
    """
    ended = [b for b in builds if b.canceled or b.state.is_finished]
    if ended:
        listed = ", ".join(f"{b.id} ({b.state.label})" for b in ended)
        raise CancelError(f"Cannot cancel builds that have already ended: {listed}")
    for build in builds:
        cancel_build(session, build)
    return [b.id for b in builds]


def queued_builds(session: Session, project: Project) -> Sequence[Build]:
    """The builds of ``project`` (any of its dirs) in :data:`QUEUED_STATES`, oldest first.

    Row-locked, so a dispatcher that starts one of them meanwhile waits for the cancel.
    """
    query = (
        select(Build)
        .where(Build.project_id == project.id, Build.state.in_(QUEUED_STATES))
        .where(Build.canceled.is_(False))
        .order_by(Build.id)
        .with_for_update()
    )
    return session.scalars(query).all()


def cancel_pending(session: Session, project: Project) -> Sequence[Build]:
    """Cancel every queued build of ``project``; the builds canceled (maybe none)."""
    builds = queued_builds(session, project)
    cancel_builds(session, builds)
    return builds


def cancel_wave_builds(session: Session, wave: RebuildWave) -> list[Build]:
    """Cancel every build of ``wave`` that has not ended; the builds canceled (maybe none)."""
    builds = [b for b in wave_builds(session, wave) if not (b.canceled or b.state.is_finished)]
    for build in builds:
        cancel_build(session, build)
    return builds
