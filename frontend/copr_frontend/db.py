"""Database plumbing: the declarative base, engines, and one session per request.

Logic functions take a :class:`~sqlalchemy.orm.Session` and never commit; views call
:func:`session` and commit when the request's work is done.  A request is one unit of
work: on SQLite (the local default) it meets no lock it cannot wait for, and one that
still meets a lock is run again from the start (:func:`init_app`,
:func:`run_unit_of_work`), so that a lock is never an error the client sees.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import flask
from sqlalchemy import Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.exceptions import ServiceUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


log = logging.getLogger(__name__)
T = TypeVar("T")


class Base(DeclarativeBase):
    """The declarative base of every model.

    A table whose primary key is one integer column never reuses an id on SQLite
    either (``AUTOINCREMENT``): without it SQLite hands a deleted newest row's id to the
    next row, and build ids name result dirs and logs.  PostgreSQL's sequences never
    reuse one.  The migration states the same option per table.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is None:
            return
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, Integer):
            table.dialect_kwargs["sqlite_autoincrement"] = True


def now() -> int:
    """The current time as Copr stores and sends it: whole Unix seconds."""
    return int(time.time())


E = TypeVar("E", bound=enum.IntEnum)


class IntEnumType(TypeDecorator[E], Generic[E]):
    """An IntEnum stored as its integer value (Copr's wire numbers)."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(self.enum_class(value))

    def process_result_value(self, value: Any, dialect: Any) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)


SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite connection waits for another one's write lock before giving up."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES_FLAG = "_copr_db_writes"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and the write-lock discipline
    described in :func:`init_app`, and its database file is made private (0600).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            make_private(Path(path))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Readers and one writer at a time without blocking each other.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            # Let SQLAlchemy, not the driver, start transactions (see _sqlite_begin).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # SQLite has no SELECT ... FOR UPDATE.  With reads inside the transaction (the
            # driver would otherwise run them outside it), SQLite's serializable
            # transactions make a writer whose reads went stale fail instead of storing a
            # state computed from them.  A unit of work that will write takes the write
            # lock up front (BEGIN IMMEDIATE, waiting up to the busy timeout), so that it
            # never has to upgrade a read transaction: SQLite refuses an upgrade at once,
            # without waiting, whenever another connection writes.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _unit_writes() else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_private(path: Path) -> None:
    """Create the SQLite file ``path`` (and chmod it, its -wal and -shm) owner-only.

    It holds webhook secrets and token hashes; SQLite gives the -wal and -shm files the
    database file's own mode, so creating that one 0600 covers all three.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for one in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if one.stat().st_mode & 0o077:
                one.chmod(0o600)


def _unit_writes() -> bool:
    """Whether the current unit of work may write: a request with a non-safe method (or
    one being retried), or a command run in an app context.  Code outside any app
    context (tests, tools) starts plain deferred transactions.
    """
    if not flask.has_app_context():
        return False
    return bool(flask.g.get(_WRITES_FLAG, True))


class Database:
    """An engine and its session factory; one per application."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Every session keeps the projects' storage counters (a module of models: late).
        from copr_frontend.quotas import accounting

        accounting.install(self.sessionmaker)

    @property
    def serializes_writers(self) -> bool:
        """Whether writers take one database-wide lock (SQLite) rather than row locks."""
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


_EXTENSION = "copr_database"
_SESSION = "_copr_db_session"
_REQUEST_CACHE_PREFIX = "_copr_"
UNIT_OF_WORK_ATTEMPTS = 4


class DatabaseBusy(ServiceUnavailable):
    """The database stayed locked through every attempt of a unit of work (503)."""


def init_app(app: flask.Flask, database: Database) -> None:
    """One session per app context; the write-lock discipline for SQLite.

    A request is one unit of work.  On SQLite, which has one write lock for the whole
    database, a request whose method may write (anything but GET/HEAD/OPTIONS) starts
    its transactions with BEGIN IMMEDIATE: it waits (up to ``SQLITE_BUSY_TIMEOUT``) for
    the lock before it reads anything, so it never meets a lock halfway.  Its body is
    read before that (``_read_body_first``), so a slow client never holds the lock.
    Reads run in deferred transactions that WAL never blocks.  Should a unit of work
    still meet a lock (a GET that writes, a busy timeout), :func:`run_unit_of_work`
    rolls it back and runs the whole view again as a writer; see there for why that is
    safe.
    """
    app.extensions[_EXTENSION] = database

    @app.before_request
    def _mark_writer() -> None:
        setattr(flask.g, _WRITES_FLAG, flask.request.method not in SAFE_METHODS)
        if database.serializes_writers and flask.g.get(_WRITES_FLAG):
            _read_body_first()

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db_session = flask.g.pop(_SESSION, None)
        if db_session is not None:
            db_session.close()


def _read_body_first() -> None:
    """Receive a form or JSON body now, before any transaction takes the write lock.

    Other bodies (a raw stream a view copies to disk) are left to the view.
    """
    request = flask.request
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        _ = request.form  # parts land in memory or spooled temporary files
    elif request.is_json:
        request.get_data(cache=True)  # within the JSON size limit (json_limits)


def is_lock_error(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's "database is locked" (busy or locked)."""
    if not isinstance(error, OperationalError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY (and its extended codes), SQLITE_LOCKED
    return "database is locked" in str(error.orig)


def run_unit_of_work(view: Callable[[], T]) -> T:
    """Run ``view`` (a whole request) and, when it met a database lock, run it again.

    Safe because a unit of work changes nothing outside its transaction before it
    commits: the failed attempt is rolled back with its session, per-request caches in
    ``flask.g`` (``_copr_*``) are dropped, files it stored are removed by the view's own
    cleanup, and what happens after a commit (wakeups, removing uploads) runs only for
    the attempt that committed.  The request body was received once and is read again
    from the start.  The next attempt always takes the write lock up front.
    """
    for attempt in range(1, UNIT_OF_WORK_ATTEMPTS + 1):
        try:
            return view()
        except OperationalError as error:
            if not is_lock_error(error):
                raise
            _discard_unit_of_work()
            if attempt == UNIT_OF_WORK_ATTEMPTS:
                raise DatabaseBusy(
                    f"The database stayed locked through {attempt} attempts: try again later"
                ) from error
            log.info("%s %s met a database lock (attempt %d); running it again",
                     flask.request.method, flask.request.path, attempt)  # fmt: skip
            setattr(flask.g, _WRITES_FLAG, True)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def _discard_unit_of_work() -> None:
    for name in [n for n in vars(flask.g) if n.startswith(_REQUEST_CACHE_PREFIX)]:
        value = flask.g.pop(name)
        if name == _SESSION:
            value.close()


def database() -> Database:
    db: Database = flask.current_app.extensions[_EXTENSION]
    return db


def session() -> Session:
    """The session of the current application context (request or CLI command)."""
    db_session: Session | None = flask.g.get(_SESSION)
    if db_session is None:
        db_session = database().sessionmaker()
        setattr(flask.g, _SESSION, db_session)
    return db_session
