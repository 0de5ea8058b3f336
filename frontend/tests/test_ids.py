"""Ids are never reused, on SQLite and PostgreSQL alike.

Build ids name result dirs and worker logs, action ids the backend's records: a row
made after the newest one was deleted must get a new id, not the deleted one's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from sqlalchemy import Integer, func, select, text
from sqlalchemy.orm import Session

from copr_common.testing.services import PostgresServer
from copr_frontend.actions.models import Action
from copr_frontend.app import create_app
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.models import Base
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

URL_SOURCE = {"pkgs": ["https://example.org/hello-1-1.src.rpm"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(
    request: pytest.FixtureRequest, tmp_path: Path, template_database: str
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
        upgrade_database(url)
        yield url
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"ids_{uuid.uuid4().hex[:12]}"
    yield postgres.create_database(name, template=template_database)
    postgres.drop_database(name)


@pytest.fixture
def world(any_database: str, tmp_path: Path) -> Iterator[tuple[flask.Flask, Factory, Session]]:
    settings = FrontendSettings(
        database_url=any_database,
        secret_key="ids-secret-0123456789",
        backend_password="ids-backend-pw",
        upload_dir=tmp_path / "uploads",
    )
    app = create_app(settings)
    database = Database(any_database)
    session = database.sessionmaker()
    try:
        yield app, Factory(session, settings), session
    finally:
        session.close()
        database.dispose()
        app.extensions["copr_database"].dispose()


def test_deleted_newest_rows_leave_their_ids_unused(
    world: tuple[flask.Flask, Factory, Session],
) -> None:
    app, factory, session = world
    client = app.test_client()
    factory.mock_chroot("fedora-42-x86_64")
    auth = factory.auth(factory.user("owner"))

    def add_project(name: str) -> int:
        body = {"name": name, "chroots": ["fedora-42-x86_64"]}
        response = client.post("/api_3/project/add/owner", json=body, headers=auth)
        assert response.status_code == 200, response.get_json()
        return int(response.get_json()["id"])

    def add_build() -> int:
        body = {"ownername": "owner", "projectname": "keep", **URL_SOURCE}
        response = client.post("/api_3/build/create/url", json=body, headers=auth)
        assert response.status_code == 200, response.get_json()
        return int(response.get_json()["items"][0]["id"])

    def add_package(name: str) -> int:
        response = client.post(
            f"/api_3/package/add/owner/keep/{name}/pypi",
            json={"pypi_package_name": name},
            headers=auth,
        )
        assert response.status_code == 200, response.get_json()
        return int(response.get_json()["id"])

    def newest_action() -> int:
        session.expire_all()
        return int(session.scalar(select(func.max(Action.id))) or 0)

    add_project("keep")
    doomed = add_project("doomed")
    assert client.delete("/api_3/project/delete/owner/doomed", headers=auth).status_code == 200
    assert add_project("doomed") > doomed

    build = add_build()
    assert client.put(f"/api_3/build/cancel/{build}", headers=auth).status_code == 200
    assert client.delete(f"/api_3/build/delete/{build}", headers=auth).status_code == 200
    assert add_build() > build

    package = add_package("pkg")
    body = {"ownername": "owner", "projectname": "keep", "package_name": "pkg"}
    assert client.post("/api_3/package/delete", json=body, headers=auth).status_code == 200
    assert add_package("pkg") > package

    # Actions done by the backend may be cleaned up; their ids stay used all the same.
    assert client.put("/api_3/project/regenerate-repos/owner/keep", headers=auth).status_code == 200
    action = newest_action()
    session.execute(Action.__table__.delete().where(Action.id == action))
    session.commit()
    assert client.put("/api_3/project/regenerate-repos/owner/keep", headers=auth).status_code == 200
    assert newest_action() > action


def test_every_integer_id_table_is_autoincrement_on_sqlite(tmp_path: Path) -> None:
    """What the migration makes (not only the models) never reuses ids, for every table."""
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type='table'"))
            ddl = {str(name): str(sql) for name, sql in rows}
    finally:
        database.dispose()
    with_ids = [
        table.name
        for table in Base.metadata.sorted_tables
        if [type(c.type) for c in table.primary_key.columns] == [Integer]
        # A key that is another table's id (webhook_forge_secrets.project_id) is not made here.
        and not next(iter(table.primary_key.columns)).foreign_keys
    ]
    assert len(with_ids) >= 10
    missing = [name for name in with_ids if "AUTOINCREMENT" not in ddl[name].upper()]
    assert missing == []
