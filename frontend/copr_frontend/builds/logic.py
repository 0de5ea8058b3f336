"""The core of submitting a build: rows for the build, its chroots and its batch.

Never commits.  Source-specific validation and the API's options parsing live with the
API routes; this module turns a decided request into consistent rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, load_only, selectinload

from copr_common.enums import FINISHED_STATES, BuildSourceEnum, StatusEnum
from copr_frontend.builds import timings
from copr_frontend.builds.models import (
    Batch,
    Build,
    BuildChroot,
    BuildChrootExclusion,
    queue_keys,
)
from copr_frontend.builds.states import refresh_state
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.users.models import User


class BuildError(ValueError):
    """A build that cannot be submitted as asked; the message says why."""


def get_build(session: Session, build_id: int) -> Build | None:
    return session.get(Build, build_id)


def lock_builds(session: Session, build_ids: Iterable[int]) -> dict[int, Build]:
    """Load builds for a state change, locked until the transaction ends.

    Two reports about different chroots of one build may arrive at once; each
    recomputes the build's stored state from all its chroots, so without the row lock
    the later commit could store a state computed from a stale view.  Locking in id
    order keeps two such requests from deadlocking.
    """
    ids = sorted(set(build_ids))
    if not ids:
        return {}
    query = (
        select(Build)
        .where(Build.id.in_(ids))
        .order_by(Build.id)
        .with_for_update()
        # Objects the session already holds may be stale: overwrite them with the rows
        # read under the lock.
        .execution_options(populate_existing=True)
    )
    builds = {b.id: b for b in session.scalars(query)}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BuildChroot) and obj.build_id in builds:
            session.expire(obj)
    for build in builds.values():
        session.expire(build, ["chroots"])
    return builds


def lock_build(session: Session, build_id: int) -> Build | None:
    return lock_builds(session, [build_id]).get(build_id)


def batch_finished(session: Session, batch: Batch) -> bool:
    """Whether no build of ``batch`` is still to run."""
    unfinished = session.scalar(
        select(Build.id)
        .where(Build.batch_id == batch.id, Build.state.not_in([int(s) for s in FINISHED_STATES]))
        .limit(1)
    )
    return unfinished is None


def _assign_batch(
    session: Session, build: Build, after_build: Build | None, with_build: Build | None
) -> None:
    if after_build is not None and with_build is not None:
        raise BuildError("use either after_build_id or with_build_id, not both")
    if with_build is not None:
        if with_build.state in FINISHED_STATES:
            raise BuildError(
                f"build {with_build.id} has already finished; with_build_id needs a build "
                "that has not"
            )
        if with_build.batch is None:
            with_build.batch = Batch()
            session.add(with_build.batch)
        build.batch = with_build.batch
    elif after_build is not None:
        if after_build.state in FINISHED_STATES:
            # Nothing to wait for: the build can run right away.
            return
        if after_build.batch is None:
            after_build.batch = Batch()
            session.add(after_build.batch)
        build.batch = Batch(blocked_by=after_build.batch)
        session.add(build.batch)


def add_build(
    session: Session,
    project: Project,
    user: User | None,
    chroots: Iterable[MockChroot],
    *,
    source_type: BuildSourceEnum,
    source_json: dict[str, Any],
    project_dir: ProjectDir | None = None,
    package: Package | None = None,
    excluded: Iterable[tuple[MockChroot, str]] = (),
    after_build: Build | None = None,
    with_build: Build | None = None,
    submitted_by: str | None = None,
    **options: Any,
) -> Build:
    """A new pending build with one waiting task per chroot.

    ``options`` are Build columns (timeout, enable_net, is_background, bootstrap,
    isolation, memory_reqs, srpm_url, pkg_version, ...).  ``excluded`` records chroots
    of the project left out and why (``exclude_chroots``, ``denylist``).
    """
    unknown = set(options) - set(Build.__table__.columns.keys())
    if unknown:
        raise BuildError(f"unknown build options: {', '.join(sorted(unknown))}")
    build = Build(
        project=project,
        dir=project_dir or project.main_dir,
        user=user,
        submitted_by=submitted_by,
        package=package,
        pkg_name=package.name if package is not None else None,
        source_type=source_type,
        source_json=source_json,
        source_status=StatusEnum.pending,
        appstream=project.appstream,
        timings={"submitted": timings.stamp()},
        **options,
    )
    session.add(build)
    # A chroot named twice (e.g. by two wildcards) is still one task.
    unique = {c.name: c for c in chroots}
    for mock_chroot in sorted(unique.values(), key=lambda c: c.name):
        build.chroots.append(BuildChroot(mock_chroot=mock_chroot, status=StatusEnum.waiting))
    queue_keys(build)
    for mock_chroot, reason in excluded:
        build.exclusions.append(BuildChrootExclusion(mock_chroot=mock_chroot, reason=reason))
    _assign_batch(session, build, after_build, with_build)
    refresh_state(build)
    session.flush()
    return build


# --- pages of the web UI: each reads its rows in a fixed number of queries -------------------

PAGE_SIZE = 50


def _with_page_relations(query: Select[Any]) -> Select[Any]:
    """Everything a build row on a page shows, loaded with the rows (no lazy load per row)."""
    return query.options(
        selectinload(Build.chroots),
        joinedload(Build.project),
        joinedload(Build.dir),
        joinedload(Build.user),
        joinedload(Build.package),
    )


def _with_list_columns(query: Select[Any]) -> Select[Any]:
    """What a row of a build table shows (``layout/macros.html build_table``), and no more:
    the JSON columns and the tasks would cost more to load than the rest of the page.
    Anything else raises instead of loading row by row.
    """
    return query.options(
        load_only(
            Build.id, Build.project_id, Build.package_id, Build.user_id, Build.submitted_by,
            Build.pkg_name, Build.pkg_version, Build.state, Build.submitted_on, raiseload=True,
        ),
        joinedload(Build.project),
        joinedload(Build.user),
        joinedload(Build.package).load_only(Package.name, raiseload=True),
    )  # fmt: skip


def list_builds(
    session: Session,
    project: Project | None = None,
    *,
    state: StatusEnum | None = None,
    package_name: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Build], int | None]:
    """A page of builds, newest first, and the id to continue below (keyset pagination:
    the cost of a page does not grow with how far back it is).
    """
    query = select(Build)
    if project is not None:
        query = query.where(Build.project_id == project.id)
    if state is not None:
        query = query.where(Build.state == state)
    if package_name:
        query = query.where(Build.pkg_name == package_name)
    if before_id is not None:
        query = query.where(Build.id < before_id)
    rows = list(
        session.scalars(_with_list_columns(query.order_by(Build.id.desc()).limit(limit + 1)))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


@dataclass(frozen=True)
class MonitorCell:
    """The latest task of a package in a chroot, as the monitor shows it."""

    build_id: int
    status: StatusEnum
    pkg_version: str | None
    result_dir: str
    """The task's result directory name (``""`` until the backend reported one)."""


def latest_chroot_builds(
    session: Session, project_dir: ProjectDir
) -> dict[str, dict[str, MonitorCell]]:
    """The monitor: ``{package: {chroot: its latest task there}}`` for the packages of the
    dir's project and the project's active chroots (as Copr's monitor), sorted by names.

    One query whatever the number of builds: for each package x chroot, a probe for the
    newest build of the package in the dir with a task in the chroot (walking the
    ``(package_id, dir_id, id)`` index from its end, so the first build that has the
    chroot ends the probe), joined to that task and build for the columns shown.  Plain
    rows, no ORM objects: a big project has thousands of cells.  A package with no task
    in any of the chroots is left out.
    """
    project = project_dir.project
    chroot_ids = [c.mock_chroot_id for c in project.active_chroots]
    if not chroot_ids:
        return {}
    latest = (
        select(BuildChroot.id)
        .join(Build, Build.id == BuildChroot.build_id)
        .where(
            Build.package_id == Package.id,
            Build.dir_id == project_dir.id,
            BuildChroot.mock_chroot_id == MockChroot.id,
        )
        .order_by(Build.id.desc())
        .limit(1)
        .correlate(Package, MockChroot)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Package.name, MockChroot.name, BuildChroot.build_id, BuildChroot.status,
            Build.pkg_version, BuildChroot.result_dir,
        )
        .select_from(Package)
        .join(MockChroot, MockChroot.id.in_(chroot_ids))  # each package x each chroot
        .join(BuildChroot, BuildChroot.id == latest)
        .join(Build, Build.id == BuildChroot.build_id)
        .where(Package.project_id == project.id)
        .order_by(Package.name, MockChroot.name)
    )  # fmt: skip
    result: dict[str, dict[str, MonitorCell]] = {}
    for package, chroot, build_id, status, version, result_dir in rows:
        result.setdefault(package, {})[chroot] = MonitorCell(
            build_id, status, version, result_dir or ""
        )
    return result


def get_build_for_page(session: Session, build_id: int) -> Build | None:
    query = _with_page_relations(select(Build).where(Build.id == build_id))
    build: Build | None = session.scalar(query)
    return build


def queue_position(session: Session, build: Build) -> int | None:
    """How many tasks the backend has to start before this build's first waiting one.

    Counts pending source builds and pending chroot tasks of older builds (what the
    backend queue holds ahead of it); None when the build has nothing pending.
    """
    waiting = build.source_status == StatusEnum.pending
    if waiting or any(c.status == StatusEnum.pending for c in build.chroots):
        first_task_build = build.id
    else:
        return None
    sources = session.scalar(
        select(func.count(Build.id)).where(
            Build.source_status == StatusEnum.pending,
            Build.canceled.is_(False),
            Build.id < first_task_build,
        )
    )
    chroots = session.scalar(
        select(func.count(BuildChroot.id))
        .join(Build, Build.id == BuildChroot.build_id)
        .where(
            BuildChroot.status == StatusEnum.pending,
            Build.canceled.is_(False),
            Build.id < first_task_build,
        )
    )
    return int(sources or 0) + int(chroots or 0)


def resubmit_options(build: Build) -> dict[str, Any]:
    """The API request body that submits ``build`` again with its source and options."""
    return {
        "chroots": [c.name for c in build.chroots],
        "timeout": build.timeout,
        "enable_net": build.enable_net,
        "background": build.is_background,
        "bootstrap": build.bootstrap or "unchanged",
        "isolation": build.isolation or "unchanged",
        "project_dirname": build.dir.name,
    }
