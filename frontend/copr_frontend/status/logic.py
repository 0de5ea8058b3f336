"""Queries of the status pages.  Never commits; each page reads a fixed number of queries."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from copr_common.enums import StatusEnum
from copr_common.names import SRPM_BUILDS_DIR
from copr_common.redis_keys import WORKER_INDEX_PATTERN, manager_of_index, record_key
from copr_common.worker_manager import WorkerRecord
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.mockchroots.models import MockChroot

STATUS_ROWS = 200
DAY = 24 * 3600


@dataclass
class Task:
    """One row of a status page: a source build or a chroot task."""

    build: Build
    chroot: str
    state: StatusEnum
    since: int | None


def _builds(session: Session, ids: Iterable[int]) -> dict[int, Build]:
    query = (
        select(Build)
        .where(Build.id.in_(list(ids)))
        .options(joinedload(Build.project), joinedload(Build.user), joinedload(Build.package))
    )
    return {b.id: b for b in session.scalars(query)}


def tasks_in(
    session: Session, states: Iterable[StatusEnum], limit: int = STATUS_ROWS
) -> list[Task]:
    """Source builds and chroot tasks in ``states``, oldest build first (three queries)."""
    wanted = [int(s) for s in states]
    sources = session.execute(
        select(Build.id, Build.source_status, Build.started_on, Build.submitted_on)
        .where(Build.source_status.in_(wanted), Build.canceled.is_(False))
        .order_by(Build.id)
        .limit(limit)
    ).all()
    chroots = session.execute(
        select(BuildChroot.build_id, MockChroot.name, BuildChroot.status, BuildChroot.started_on)
        .join(MockChroot, MockChroot.id == BuildChroot.mock_chroot_id)
        .where(BuildChroot.status.in_(wanted))
        .order_by(BuildChroot.build_id, MockChroot.name)
        .limit(limit)
    ).all()
    builds = _builds(session, {r[0] for r in sources} | {r[0] for r in chroots})
    tasks = [
        Task(builds[i], SRPM_BUILDS_DIR, StatusEnum(s), started or submitted)
        for i, s, started, submitted in sources
    ]
    tasks += [
        Task(builds[i], name, StatusEnum(s), started or builds[i].submitted_on)
        for i, name, s, started in chroots
    ]
    tasks.sort(key=lambda t: (t.build.id, t.chroot != SRPM_BUILDS_DIR, t.chroot))
    return tasks[:limit]


def builds_per_day(session: Session, now: int, days: int = 30) -> list[tuple[str, int]]:
    """(``YYYY-MM-DD``, builds submitted that day) for the last ``days`` days."""
    first_day = now // DAY - days + 1
    day = Build.submitted_on // DAY
    counts = dict(
        session.execute(
            select(day, func.count(Build.id))
            .where(Build.submitted_on >= first_day * DAY)
            .group_by(day)
        ).all()
    )
    return [
        (time.strftime("%Y-%m-%d", time.gmtime(number * DAY)), int(counts.get(number, 0) or 0))
        for number in range(first_day, first_day + days)
    ]


def tasks_per_chroot(session: Session, now: int, days: int = 30) -> list[tuple[str, int]]:
    """(chroot, chroot tasks of builds submitted in the last ``days`` days), most first."""
    rows = session.execute(
        select(MockChroot.name, func.count(BuildChroot.id))
        .join(BuildChroot, BuildChroot.mock_chroot_id == MockChroot.id)
        .join(Build, Build.id == BuildChroot.build_id)
        .where(Build.submitted_on >= now - days * DAY)
        .group_by(MockChroot.name)
        .order_by(func.count(BuildChroot.id).desc(), MockChroot.name)
    ).all()
    return [(name, int(count)) for name, count in rows]


def builders(redis_url: str | None) -> list[tuple[str, WorkerRecord]]:
    """(pool, worker) of every worker the backend's dispatchers run (one per builder
    task), read from their Redis; empty without Redis or when it does not answer.
    """
    if not redis_url:
        return []
    rows: list[tuple[str, WorkerRecord]] = []
    try:
        client = Redis.from_url(redis_url, socket_timeout=2)
        for index in client.scan_iter(match=WORKER_INDEX_PATTERN, count=100):
            pool = manager_of_index(_text(index))
            for member in sorted(client.smembers(index)):
                worker_id = _text(member)
                raw = client.hgetall(record_key(pool, worker_id))
                if raw:
                    rows.append((pool, WorkerRecord.from_redis(worker_id, raw)))
    except RedisError:
        return []
    return rows


def _text(value: bytes | str) -> str:
    """A key or member as redis-py gives it (bytes without ``decode_responses``)."""
    return value.decode() if isinstance(value, bytes) else value
