"""Alembic environment: runs on the URL :mod:`copr_frontend.migrate` passes."""

from __future__ import annotations

from alembic import context

from copr_frontend.db import make_engine
from copr_frontend.migrations.env_options import migration_options
from copr_frontend.models import Base

config = context.config


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata, **migration_options())
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
