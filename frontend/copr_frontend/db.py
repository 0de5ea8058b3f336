"""Database plumbing: the declarative base, engines, and one session per request.

Logic functions take a :class:`~sqlalchemy.orm.Session` and never commit; views call
:func:`session` and commit when the request's work is done.
"""

from __future__ import annotations

import enum
import time
from typing import Any, Generic, TypeVar

import flask
from sqlalchemy import Engine, Integer, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and may be shared by threads."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

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
            # state computed from them: an error the caller retries, never a lost update.
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine and its session factory; one per application."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


_EXTENSION = "copr_database"


def init_app(app: flask.Flask, database: Database) -> None:
    app.extensions[_EXTENSION] = database

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db_session = flask.g.pop("_copr_db_session", None)
        if db_session is not None:
            db_session.close()


def database() -> Database:
    db: Database = flask.current_app.extensions[_EXTENSION]
    return db


def session() -> Session:
    """The session of the current application context (request or CLI command)."""
    db_session: Session | None = flask.g.get("_copr_db_session")
    if db_session is None:
        db_session = database().sessionmaker()
        flask.g._copr_db_session = db_session
    return db_session
