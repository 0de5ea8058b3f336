"""Fixtures of the frontend tests; every frontend test module may use them.

Databases (PostgreSQL from ``copr_common.testing``):
    ``template_database``  session: name of a database migrated once with Alembic
    ``database_url``       a fresh copy of the template for one test, dropped afterwards

Application:
    ``settings``   :class:`FrontendSettings` for the test's database and a tmp upload dir
    ``app``        ``create_app(settings)``
    ``client``     Flask test client of ``app``
    ``db_session`` a SQLAlchemy session on the test's database (expire_on_commit off);
                   call ``db_session.expire_all()`` before reading what a request changed
    ``factory``    :class:`Factory`: users, groups, mock chroots, projects, packages, builds
                   (each call commits, so the app sees the rows)
    ``live_server`` the app served by a real threaded WSGI server on 127.0.0.1:<random>
                   (``live_server.url``, also the app's ``public_url``), for the real
                   copr-cli, python-copr and dnf

Helpers:
    ``basic_auth(login, secret)`` -> headers dict for HTTP Basic
    ``factory.token(user)`` -> (api_login, token) of a fresh API token
    ``factory.auth(user)``  -> HTTP Basic headers for that user's fresh token
    ``backend_headers``     -> HTTP Basic headers with the backend password
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import flask
import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from copr_common.testing.services import PostgresServer, free_port
from copr_frontend.app import create_app
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory, basic_auth

BACKEND_PASSWORD = "backend-password-for-tests"

__all__ = ["BACKEND_PASSWORD", "basic_auth"]


@pytest.fixture(scope="session")
def template_database(postgres_server: PostgresServer) -> str:
    name = f"frontend_template_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    upgrade_database(url)
    return name


@pytest.fixture
def database_url(postgres_server: PostgresServer, template_database: str) -> Iterator[str]:
    name = f"frontend_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name, template=template_database)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> FrontendSettings:
    return FrontendSettings(
        database_url=database_url,
        secret_key="test-secret-key-0123456789",
        backend_password=BACKEND_PASSWORD,
        public_url="http://copr.test",
        results_url="http://results.test/results",
        dist_git_url="http://distgit.test/git",
        upload_dir=tmp_path / "uploads",
        max_upload_size=1024 * 1024,
    )


@pytest.fixture
def app(settings: FrontendSettings) -> Iterator[flask.Flask]:
    application = create_app(settings)
    yield application
    application.extensions["copr_database"].dispose()


@pytest.fixture
def client(app: flask.Flask) -> flask.testing.FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(settings: FrontendSettings) -> Iterator[Session]:
    database = Database(settings.database_url)
    session = database.sessionmaker()
    yield session
    session.close()
    database.dispose()


@pytest.fixture
def factory(db_session: Session, settings: FrontendSettings) -> Factory:
    return Factory(db_session, settings)


@pytest.fixture
def backend_headers() -> dict[str, str]:
    return basic_auth("backend", BACKEND_PASSWORD)


@dataclass
class LiveServer:
    url: str
    host: str
    port: int
    app: flask.Flask


@pytest.fixture
def live_server(settings: FrontendSettings) -> Iterator[LiveServer]:
    """The app on a real threaded WSGI server; its ``public_url`` is the server's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    application = create_app(settings.model_copy(update={"public_url": url}))
    server: BaseWSGIServer = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url, "127.0.0.1", port, application)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        application.extensions["copr_database"].dispose()
