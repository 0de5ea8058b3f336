"""Alembic migrations: they run on PostgreSQL and SQLite and match the models."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from copr_common.testing.services import PostgresServer
from copr_frontend.db import make_engine
from copr_frontend.migrate import current_revision, upgrade_database
from copr_frontend.migrations.env_options import migration_options
from copr_frontend.models import Base


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=migration_options())
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift_on_postgresql(postgres_server: PostgresServer) -> None:
    name = f"drift_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        upgrade_database(url)
        assert _diff(url) == []
        assert current_revision(url) == "0001"
    finally:
        postgres_server.drop_database(name)


def test_migrations_run_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    upgrade_database(url)  # a second run is a no-op
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert _diff(url) == []
