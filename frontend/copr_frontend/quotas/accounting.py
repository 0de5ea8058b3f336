"""The stored storage counter: ``Project.storage_usage`` follows its builds' result sizes.

Every flush of a session of the :class:`~copr_frontend.db.Database` adds to each touched
project's counter what the flush changes: a build or build chroot stored with a size (a
fork's copies), a size a report sets or changes, a build or build chroot deleted (with
the chroots a deleted build takes along).  The change is one ``UPDATE … SET
storage_usage = storage_usage + :delta`` per project in the flush's transaction, so
concurrent reports add up and a rolled-back flush changes nothing.  A project's rows
going with the project need no accounting.  ``copr-frontend recount-storage`` sets the
counters from the builds again (after rows were changed outside the ORM).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state

from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.projects.models import Project


def _stored(obj: Build | BuildChroot, attribute: str) -> int:
    """The size the database has in ``obj`` (before this session changed it)."""
    committed = instance_state(obj).committed_state
    value = committed[attribute] if attribute in committed else getattr(obj, attribute)
    if value is not None and not isinstance(value, int):
        # Set while expired: the old value is not in the session; read it from the row.
        column = getattr(type(obj), attribute)
        value = _stored_in_row(obj, column)
    return int(value or 0)


def _stored_in_row(obj: Build | BuildChroot, column: Any) -> int | None:
    """The stored value of ``column`` in ``obj``'s row."""
    session = instance_state(obj).session
    assert session is not None
    with session.no_autoflush:
        found = session.execute(select(column).where(type(obj).id == obj.id)).scalar()
    return int(found) if found is not None else None


def _size_change(obj: Build | BuildChroot, attribute: str) -> int:
    if not instance_state(obj).attrs[attribute].history.has_changes():
        return 0
    return int(getattr(obj, attribute) or 0) - _stored(obj, attribute)


def _build_of(session: Session, chroot: BuildChroot) -> Build | None:
    """The chroot's build, also when the chroot was just taken out of its collection."""
    if chroot.build is not None:
        return chroot.build
    return session.get(Build, chroot.build_id) if chroot.build_id is not None else None


def _changes(session: Session) -> dict[Project | int, int]:
    """Bytes to add per project (its id, or a project not stored yet)."""
    deltas: dict[Project | int, int] = defaultdict(int)

    def add(build: Build | None, size: int) -> None:
        if build is None or not size:
            return
        where: Project | int | None = build.project_id
        if where is None and build.project is not None:
            # Not set until this flush: the project's id, or the project itself when the
            # flush inserts it too (its first value is set, not added).
            where = build.project.id or build.project
        if where is not None:
            deltas[where] += size

    for obj in session.new:
        if isinstance(obj, Build):
            add(obj, obj.source_result_size or 0)
        elif isinstance(obj, BuildChroot):
            add(obj.build, obj.result_size or 0)
    for obj in session.dirty:
        if isinstance(obj, Build):
            add(obj, _size_change(obj, "source_result_size"))
        elif isinstance(obj, BuildChroot):
            add(_build_of(session, obj), _size_change(obj, "result_size"))
    gone: dict[int, BuildChroot] = {}
    for obj in session.deleted:
        if isinstance(obj, Build):
            add(obj, -_stored(obj, "source_result_size"))
            gone.update((id(c), c) for c in obj.chroots)
        elif isinstance(obj, BuildChroot):
            gone[id(obj)] = obj
    for chroot in gone.values():
        add(_build_of(session, chroot), -_stored(chroot, "result_size"))
    return deltas


def apply(session: Session) -> None:
    """Add this flush's size changes to the projects' counters."""
    for where, delta in _changes(session).items():
        if not delta:
            continue
        if isinstance(where, Project):
            where.storage_usage = (where.storage_usage or 0) + delta  # inserted with the flush
            continue
        session.connection().execute(
            update(Project)
            .where(Project.id == where)
            .values(storage_usage=Project.storage_usage + delta)
        )
        loaded = session.identity_map.get(inspect(Project).identity_key_from_primary_key((where,)))
        if loaded is not None:
            session.expire(loaded, ["storage_usage"])


def install(factory: sessionmaker[Session]) -> None:
    """Keep the counters of the projects right in every flush of ``factory``'s sessions."""

    @event.listens_for(factory, "before_flush")
    def _account(session: Session, _context: Any, _instances: Any) -> None:
        apply(session)
