"""The backend's queue in fair order: which pending tasks it would start first.

The backend numbers the tasks of each fair-share group — an owner's sandbox and an arch
(``srpm`` for source builds) — in queue order (1, 2, ...) and adds that rank to the task's
base priority (background builds after all others, RPM tasks after source builds); it
starts tasks by (priority, queue order).  A paged ``pending-jobs`` lists the first tasks of
that order, so the backend gets them without reading the whole queue (:func:`fair_page`).

On PostgreSQL the page is read group by group from the queue's partial indexes
(``ix_builds_queue``, ``ix_build_chroots_queue``: queued tasks by ``queue_key``, then
queue order): only the head of each group, however long the queue.  Elsewhere (SQLite, a
local queue) the whole queue is ranked with a window function.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from copr_common.backend_api import QUEUED_TASKS_MAX
from copr_common.enums import FINISHED_STATES, StatusEnum
from copr_frontend.builds.models import QUEUED_STATES, Batch, Build, BuildChroot
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.users.models import User

BACKGROUND_PENALTY = 1_000_000
RPM_PENALTY = 1
"""The backend's priority of a task (lower runs first): background builds after all
others, RPM tasks after source builds, plus the task's fair rank."""

SOURCE_ARCH = "srpm"
"""The arch the backend counts source builds under."""

MAX_PAGE = 100_000
"""The largest ``limit`` of a paged ``pending-jobs``."""

_STARTED = [StatusEnum.starting, StatusEnum.running]


def not_blocked() -> Any:
    """SQL condition: the build's batch is not waiting for an unfinished batch (the
    query joins :class:`Batch` on ``Build.batch_id``, outer).
    """
    blocker = aliased(Build)
    unfinished_blocker = exists().where(
        blocker.batch_id == Batch.blocked_by_id,
        blocker.state.not_in(list(FINISHED_STATES)),
    )
    return or_(Build.batch_id.is_(None), Batch.blocked_by_id.is_(None), ~unfinished_blocker)


def queue_query(*columns: Any, chroots: bool = False) -> Select[Any]:
    """The names every short task needs (owner, dir, submitter) beside ``columns``, of
    builds (or, with ``chroots``, of build chroots and their mock chroots) whose build is
    not canceled and not held back by its batch.
    """
    query = select(
        *columns,
        Build.id.label("build_id"),
        Build.is_background,
        Build.submitted_by,
        Project.ownername,
        ProjectDir.name.label("dirname"),
        User.name.label("username"),
    ).select_from(BuildChroot if chroots else Build)
    if chroots:
        query = query.join(Build, Build.id == BuildChroot.build_id).join(
            MockChroot, MockChroot.id == BuildChroot.mock_chroot_id
        )
    return (
        query.join(Project, Project.id == Build.project_id)
        .join(ProjectDir, ProjectDir.id == Build.dir_id)
        .outerjoin(User, User.id == Build.user_id)
        .outerjoin(Batch, Batch.id == Build.batch_id)
        .where(Build.canceled.is_(False), not_blocked())
    )


Page = tuple[dict[int, int], dict[int, int]]
"""``({build id: priority}, {build chroot id: priority})``: the source and RPM tasks of a
page."""


def fair_page(session: Session, limit: int) -> Page:
    """The priorities of the tasks a paged ``pending-jobs`` lists: every starting or
    running task and the ``limit`` pending ones the backend would start first, exactly
    the head of the whole queue's (priority, queue order).
    """
    if session.get_bind().dialect.name == "postgresql":
        return _page_by_groups(session, limit)
    return _page_by_window(session, limit)


# --- PostgreSQL: the head of each group, from the queue's indexes ----------------------------


@dataclass(frozen=True, order=True)
class _Task:
    """A queued task; ordered as the backend starts them."""

    priority: int
    kind: int  # 0: source build, 1: RPM task
    is_background: bool
    build_id: int
    chroot_id: int  # 0 for a source build
    started: bool


@dataclass(frozen=True)
class _Kind:
    """Where the queue's tasks of one kind are: their table's columns."""

    number: int
    key: InstrumentedAttribute[str]
    state: InstrumentedAttribute[StatusEnum]
    is_background: InstrumentedAttribute[bool]
    build_id: InstrumentedAttribute[int]
    chroot_id: Any

    def base(self, is_background: bool) -> int:
        return self.number * RPM_PENALTY + (BACKGROUND_PENALTY if is_background else 0)

    def position(self) -> tuple[Any, ...]:
        return (self.is_background, self.build_id, self.chroot_id)

    def queued(self) -> Select[Any]:
        """Its runnable queued tasks (build not canceled, nor held back by its batch)."""
        query = select(
            self.key.label("key"),
            self.state.label("state"),
            self.is_background.label("is_background"),
            self.build_id.label("build_id"),
            self.chroot_id.label("chroot_id"),
        )
        if self.number == 1:
            query = query.join(Build, Build.id == BuildChroot.build_id)
        return query.outerjoin(Batch, Batch.id == Build.batch_id).where(
            self.state.in_(QUEUED_STATES), Build.canceled.is_(False), not_blocked()
        )

    def groups(self) -> CTE:
        """Every ``queue_key`` with a queued task, one index probe each (a loose scan)."""
        first = (
            select(func.min(self.key).label("key"))
            .where(self.state.in_(QUEUED_STATES))
            .cte(f"groups_{self.number}", recursive=True)
        )
        following = (
            select(func.min(self.key))
            .where(self.state.in_(QUEUED_STATES), self.key > first.c.key)
            .correlate(first)
            .scalar_subquery()
        )
        return first.union_all(select(following).where(first.c.key.is_not(None)))


_KINDS = (
    _Kind(0, Build.queue_key, Build.source_status, Build.is_background, Build.id, literal(0)),
    _Kind(
        1,
        BuildChroot.queue_key,
        BuildChroot.status,
        BuildChroot.is_background,
        BuildChroot.build_id,
        BuildChroot.id,
    ),
)


def _page_by_groups(session: Session, limit: int) -> Page:
    """The page from the first ``depth`` tasks of every group, deeper until enough: one
    statement a round, and a round more each time the depth doubles.

    Within a group priorities rise with queue order (a background task's rank counts
    every other task of its group before it), so the page takes a prefix of each group.
    With the first ``depth`` tasks of each group read, every task of priority up to the
    lowest last-read priority of the groups not read to their end is known; once that
    many pending tasks make a page, it is exact.
    """
    depth = 2
    while True:
        heads, started = _round(session, depth)
        bound = None
        pending: list[_Task] = []
        for tasks in heads.values():
            if len(tasks) == depth:
                bound = tasks[-1].priority if bound is None else min(bound, tasks[-1].priority)
            pending += [t for t in tasks if not t.started]
        known = sorted(t for t in pending if bound is None or t.priority <= bound)
        if bound is None or len(known) >= limit:
            break
        depth *= 2
    builds: dict[int, int] = {}
    chroots: dict[int, int] = {}
    for task in [*known[:limit], *started]:
        if task.kind == 0:
            builds[task.build_id] = task.priority
        else:
            chroots[task.chroot_id] = task.priority
    return builds, chroots


_HEAD, _STARTED_PART = 0, 1


def _round(session: Session, depth: int) -> tuple[dict[tuple[int, str], list[_Task]], list[_Task]]:
    """The first ``depth`` queued tasks of every group, in queue order and ranked; and
    every starting or running task, ranked by counting the queued tasks of its group up
    to it (few: as many as the backend runs).
    """
    heads: dict[tuple[int, str], list[_Task]] = defaultdict(list)
    started_tasks = []
    rows = session.execute(_round_statement(depth)).all()
    for part, number, key, state, is_background, build_id, chroot_id, rank in sorted(
        rows, key=lambda r: (r[0], r[1], r[2], r[4], r[5], r[6])
    ):
        if part == _STARTED_PART:
            base = _KINDS[number].base(is_background)
            started_tasks.append(
                _Task(base + rank, number, is_background, build_id, chroot_id, True)
            )
            continue
        tasks = heads[number, key]
        tasks.append(
            _Task(
                _KINDS[number].base(is_background) + len(tasks) + 1,
                number,
                is_background,
                build_id,
                chroot_id,
                state != StatusEnum.pending,
            )
        )
    return heads, started_tasks


@functools.cache
def _round_statement(depth: int) -> CompoundSelect[Any]:
    # Made once per depth (a few: it doubles): building the statement costs more Python
    # than running it.
    parts = []
    for kind in _KINDS:
        groups = kind.groups()
        head = (
            kind.queued()
            .where(kind.key == groups.c.key)
            .order_by(*kind.position())
            .limit(depth)
            .lateral(f"head_{kind.number}")
        )
        parts.append(
            select(literal(_HEAD), literal(kind.number), *head.c, literal(0))
            .select_from(groups)
            .join(head, true())
            .where(groups.c.key.is_not(None))
        )
        started = kind.queued().where(kind.state.in_(_STARTED)).subquery(f"started_{kind.number}")
        earlier = kind.queued().subquery(f"earlier_{kind.number}")
        rank = (
            select(func.count())
            .select_from(earlier)
            .where(
                earlier.c.key == started.c.key,
                tuple_(earlier.c.is_background, earlier.c.build_id, earlier.c.chroot_id)
                <= tuple_(started.c.is_background, started.c.build_id, started.c.chroot_id),
            )
            .scalar_subquery()
        )
        parts.append(select(literal(_STARTED_PART), literal(kind.number), *started.c, rank))
    return union_all(*parts)


# --- elsewhere: the whole queue ranked at once -----------------------------------------------


def _page_by_window(session: Session, limit: int) -> Page:
    builds: dict[int, int] = {}
    chroots: dict[int, int] = {}
    for row in session.execute(_window_statement(), {"page_limit": limit}):
        if row.kind == 0:
            builds[row.build_id] = row.priority
        else:
            chroots[row.chroot_id] = row.priority
    return builds, chroots


@functools.cache
def _window_statement() -> CompoundSelect[Any]:
    # Made once, the page's size a parameter: building it costs more Python than running it.
    submitter = func.coalesce(User.name, Build.submitted_by)
    sandbox = (
        Project.ownername
        + "/"
        + ProjectDir.name
        + "--"
        + func.coalesce(func.nullif(submitter, ""), "unknown")
    )
    srpm = queue_query(
        literal(0, Integer).label("kind"),
        literal(0, Integer).label("chroot_id"),
        Build.source_status.label("state"),
        sandbox.label("sandbox_key"),
        literal(SOURCE_ARCH).label("arch"),
    ).where(Build.source_status.in_(QUEUED_STATES))
    rpm = queue_query(
        literal(1, Integer).label("kind"),
        BuildChroot.id.label("chroot_id"),
        BuildChroot.status.label("state"),
        sandbox.label("sandbox_key"),
        # The arch as the backend counts it: a column of its own (a regular expression on
        # the chroot's name is PostgreSQL's only).
        MockChroot.arch.label("arch"),
        chroots=True,
    ).where(BuildChroot.status.in_(QUEUED_STATES))
    tasks = union_all(srpm, rpm).subquery("tasks")
    position = (tasks.c.kind, tasks.c.is_background, tasks.c.build_id, tasks.c.chroot_id)
    rank = func.row_number().over(
        partition_by=(tasks.c.ownername, tasks.c.sandbox_key, tasks.c.arch),
        order_by=position,
    )
    base = tasks.c.kind * RPM_PENALTY + case((tasks.c.is_background, BACKGROUND_PENALTY), else_=0)
    ranked = select(
        tasks.c.kind,
        tasks.c.is_background,
        tasks.c.build_id,
        tasks.c.chroot_id,
        tasks.c.state,
        (base + rank).label("priority"),
    ).cte("ranked")
    key = (
        ranked.c.priority,
        ranked.c.kind,
        ranked.c.is_background,
        ranked.c.build_id,
        ranked.c.chroot_id,
    )
    first = (
        select(ranked.c.kind, ranked.c.build_id, ranked.c.chroot_id, ranked.c.priority)
        .where(ranked.c.state == StatusEnum.pending)
        .order_by(*key)
        .limit(bindparam("page_limit", type_=Integer))
    )
    started = select(ranked.c.kind, ranked.c.build_id, ranked.c.chroot_id, ranked.c.priority).where(
        ranked.c.state != StatusEnum.pending
    )
    return union_all(started, first.subquery().select())


# --- which given tasks are still queued ------------------------------------------------------

MAX_ASKED = QUEUED_TASKS_MAX
"""The most task ids one ``queued-tasks`` call may ask about."""


def queued_tasks(session: Session, task_ids: list[str]) -> list[str]:
    """Those of ``task_ids`` (``<build_id>`` or ``<build_id>-<chroot>``) that the whole
    feed lists: queued, not canceled, not held back by their batch.  Ids that name no
    task are simply not queued.
    """
    sources = {int(t) for t in task_ids if t.isdigit()}
    chroots = {t for t in task_ids if not t.isdigit()}
    found: list[str] = []
    if sources:
        query = queue_query().where(
            Build.id.in_(sorted(sources)), Build.source_status.in_(QUEUED_STATES)
        )
        found += [str(row.build_id) for row in session.execute(query)]
    if chroots:
        builds = sorted({int(t.split("-", 1)[0]) for t in chroots})
        query = queue_query(MockChroot.name.label("chroot"), chroots=True).where(
            BuildChroot.build_id.in_(builds), BuildChroot.status.in_(QUEUED_STATES)
        )
        found += [
            task_id
            for row in session.execute(query)
            if (task_id := f"{row.build_id}-{row.chroot}") in chroots
        ]
    return sorted(found)
