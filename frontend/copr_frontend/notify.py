"""Push dispatch: tell the dispatchers, through Redis, that there is new work.

With the ``redis_url`` setting, a commit that queued work publishes a wakeup on the
channel the dispatcher listens on, so an idle backend starts the task at once instead of
at its next poll.  Work is: a new build, build chroot, cancel request or action, and a
build or chroot put (back) to ``pending``.  A source build that enters ``importing``
wakes dist-git's import dispatcher the same way (it listens on the same Redis when its
``redis_url`` names it).  Other backend reports (``running``, ``succeeded``) publish
nothing.  Publishing is best effort: the dispatchers still poll, so a wakeup lost
to a Redis outage only delays the start.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from copr_common.enums import StatusEnum
from copr_common.redis_keys import ACTION_MANAGER, BUILD_MANAGER, IMPORT_MANAGER, wakeup_channel

log = logging.getLogger(__name__)

_PENDING_KEY = "copr_pending_wakeups"


def _became(obj: Any, attribute: str, status: StatusEnum) -> bool:
    history = inspect(obj).attrs[attribute].history
    return any(value == status for value in history.added or ())


def _work_of(session: Session) -> set[str]:
    from copr_frontend.actions.models import Action
    from copr_frontend.builds.models import Build, BuildChroot, CancelRequest

    wanted: set[str] = set()
    for obj in session.new:
        if isinstance(obj, Build | BuildChroot | CancelRequest):
            wanted.add(BUILD_MANAGER)
        elif isinstance(obj, Action):
            wanted.add(ACTION_MANAGER)
    for obj in session.dirty:
        if (isinstance(obj, BuildChroot) and _became(obj, "status", StatusEnum.pending)) or (
            isinstance(obj, Build) and _became(obj, "source_status", StatusEnum.pending)
        ):
            wanted.add(BUILD_MANAGER)
        if isinstance(obj, Build) and _became(obj, "source_status", StatusEnum.importing):
            wanted.add(IMPORT_MANAGER)
    return wanted


def install(factory: sessionmaker[Session], redis_url: str) -> redis.Redis:
    """Publish wakeups after commits of sessions made by ``factory``; the Redis client."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    @event.listens_for(factory, "before_flush")
    def _collect(session: Session, _context: Any, _instances: Any) -> None:
        wanted = _work_of(session)
        if wanted:
            session.info.setdefault(_PENDING_KEY, set()).update(wanted)

    @event.listens_for(factory, "after_commit")
    def _publish(session: Session) -> None:
        wanted = session.info.pop(_PENDING_KEY, None)
        for name in sorted(wanted or ()):
            try:
                client.publish(wakeup_channel(name), "wakeup")
            except redis.RedisError as error:
                log.warning("cannot wake the %s dispatcher up: %s", name, error)

    @event.listens_for(factory, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)

    return client
