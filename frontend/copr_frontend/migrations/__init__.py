"""Alembic migrations of the frontend database (run them with ``copr-frontend upgrade-db``)."""
