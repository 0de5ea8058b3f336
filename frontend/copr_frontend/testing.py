"""Test fixtures and data factories for the frontend's tests and other services' tests of it.

A pytest plugin (entry point ``copr_frontend``): every test run in this environment may
use the fixtures, and nothing starts unless a test asks.  A test folder overrides one by
defining a fixture of the same name in its conftest (e.g. ``settings``: the backend's tests
point ``results_url`` at their results server); the others then use the override.

Databases (PostgreSQL from ``copr_common.testing``):
    ``template_database``  session: name of a database migrated once with Alembic
    ``database_url``       a fresh copy of the template for one test, dropped afterwards

Application:
    ``settings``    :class:`FrontendSettings` for the test's database and a tmp upload dir
    ``app``         ``create_app(settings)``
    ``client``      Flask test client of ``app``
    ``db_session``  a SQLAlchemy session on the test's database (expire_on_commit off);
                    call ``db_session.expire_all()`` before reading what a request changed
    ``factory``     :class:`Factory`: users, groups, mock chroots, projects, packages,
                    builds (each call commits, so the app sees the rows)
    ``live_server`` the app served by a real threaded WSGI server on 127.0.0.1:<random>
                    (``live_server.url``, also the app's ``public_url``), for the real
                    copr-cli, python-copr and dnf
    ``backend_headers`` HTTP Basic headers with the backend password

Helpers: ``basic_auth(login, secret)`` (headers dict for HTTP Basic), ``factory.token(user)``
(api_login, token of a fresh API token), ``factory.auth(user)`` (HTTP Basic headers for
that user's fresh token), :func:`serve_app` (a WSGI app on a loopback port),
:func:`counting_queries` (the SQL statements an app runs inside a ``with`` block).
"""

from __future__ import annotations

import base64
import itertools
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.testing.services import PostgresServer, free_port
from copr_frontend.builds.logic import add_build
from copr_frontend.builds.models import Build
from copr_frontend.builds.states import set_chroot_status, set_source_status
from copr_frontend.mockchroots.logic import create_chroot, get_chroot
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.permissions.models import ProjectPermission
from copr_frontend.projects.logic import add_project, get_or_create_dir
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.users.logic import add_member, create_group, create_user, issue_api_token
from copr_frontend.users.models import Group, User

if TYPE_CHECKING:
    import flask
    import flask.testing
    from playwright.sync_api import Browser

BACKEND_PASSWORD = "backend-password-for-tests"  # noqa: S105 (only ever a test frontend's)

_counter = itertools.count(1)


def basic_auth(login: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium (Debian's) under Playwright, for the web UI's browser tests."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: make setup installs it (frontend/system-packages.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def counting_queries(app: flask.Flask) -> Iterator[list[str]]:
    """The SQL statements ``app``'s engine sends while the block runs, in order.

    Counted at the cursor, so lazy loads, autoflushes and the statements a streamed
    response runs after the view returned (as long as it is consumed in the block) all
    count.
    """
    statements: list[str] = []
    engine = app.extensions["copr_database"].engine

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)


class Factory:
    """Makes users, projects, packages and builds for tests, committing each one."""

    def __init__(self, session: Session, settings: FrontendSettings | None = None) -> None:
        self.session = session
        self.settings = settings

    def _commit(self) -> None:
        self.session.commit()

    def user(
        self, name: str | None = None, *, admin: bool = False, password: str | None = None
    ) -> User:
        user = create_user(
            self.session, name or f"user{next(_counter)}", admin=admin, password=password
        )
        self._commit()
        return user

    def token(self, user: User, lifetime_days: int = 30) -> tuple[str, str]:
        token = issue_api_token(user, lifetime_days)
        self._commit()
        assert user.api_login is not None
        return user.api_login, token

    def auth(self, user: User) -> dict[str, str]:
        return basic_auth(*self.token(user))

    def group(self, name: str | None = None, members: Iterable[User] = ()) -> Group:
        group = create_group(self.session, name or f"group{next(_counter)}")
        for member in members:
            add_member(self.session, group, member)
        self._commit()
        return group

    def mock_chroot(self, name: str, *, active: bool = True) -> MockChroot:
        chroot = get_chroot(self.session, name)
        if chroot is None:
            chroot = create_chroot(self.session, name, active=active)
            self._commit()
        return chroot

    def project(
        self,
        owner: User | None = None,
        name: str | None = None,
        *,
        group: Group | None = None,
        chroots: Sequence[str] = ("fedora-42-x86_64",),
        **fields: Any,
    ) -> Project:
        owner = owner or self.user()
        mock_chroots = [self.mock_chroot(c) for c in chroots]
        project = add_project(
            self.session,
            owner,
            name or f"project{next(_counter)}",
            group=group,
            chroots=mock_chroots,
            **fields,
        )
        self._commit()
        return project

    def grant(
        self, project: Project, user: User, *, builder: int = 0, admin: int = 0
    ) -> ProjectPermission:
        perm = ProjectPermission(
            project_id=project.id, user_id=user.id, copr_builder=builder, copr_admin=admin
        )
        self.session.add(perm)
        self._commit()
        return perm

    def package(
        self,
        project: Project,
        name: str | None = None,
        *,
        source_type: BuildSourceEnum = BuildSourceEnum.scm,
        source_json: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Package:
        package = Package(
            project=project,
            name=name or f"pkg{next(_counter)}",
            source_type=source_type,
            source_json=source_json or {"clone_url": "https://example.org/repo.git", "type": "git"},
            **fields,
        )
        self.session.add(package)
        self._commit()
        return package

    def build(
        self,
        project: Project,
        *,
        user: User | None = None,
        chroots: Sequence[str] | None = None,
        package: Package | None = None,
        dirname: str | None = None,
        source_type: BuildSourceEnum = BuildSourceEnum.link,
        source_json: dict[str, Any] | None = None,
        source_status: StatusEnum | None = None,
        chroot_status: StatusEnum | None = None,
        after_build: Build | None = None,
        with_build: Build | None = None,
        **options: Any,
    ) -> Build:
        """A submitted build; ``source_status``/``chroot_status`` fast-forward it."""
        if chroots is None:
            mock_chroots = [c.mock_chroot for c in project.active_chroots]
        else:
            mock_chroots = [self.mock_chroot(c) for c in chroots]
        project_dir = get_or_create_dir(self.session, project, dirname) if dirname else None
        build = add_build(
            self.session,
            project,
            user or project.user,
            mock_chroots,
            source_type=source_type,
            source_json=source_json or {"url": "https://example.org/hello-1-1.src.rpm"},
            project_dir=project_dir,
            package=package,
            after_build=after_build,
            with_build=with_build,
            **options,
        )
        if source_status is not None:
            set_source_status(build, source_status)
        if chroot_status is not None:
            for chroot in build.chroots:
                set_chroot_status(chroot, chroot_status)
        self._commit()
        return build


# --- pytest fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template_database(postgres_server: PostgresServer) -> str:
    """A database migrated once per session; each test's database is a copy of it."""
    # Imported here: Alembic is needed only by tests that use a database.
    from copr_frontend.migrate import upgrade_database

    name = f"frontend_template_{uuid.uuid4().hex[:8]}"
    upgrade_database(postgres_server.create_database(name))
    return name


@pytest.fixture
def database_url(postgres_server: PostgresServer, template_database: str) -> Iterator[str]:
    """A fresh copy of the migrated template for one test, dropped afterwards."""
    name = f"frontend_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name, template=template_database)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> FrontendSettings:
    """The frontend's settings for the test's database and a tmp upload dir."""
    return FrontendSettings(
        database_url=database_url,
        secret_key="test-secret-key-0123456789",  # noqa: S106 (a test app's)
        backend_password=BACKEND_PASSWORD,
        public_url="http://copr.test",
        results_url="http://results.test/results",
        dist_git_url="http://distgit.test/git",
        upload_dir=tmp_path / "uploads",
        max_upload_size=1024 * 1024,
    )


@pytest.fixture
def app(settings: FrontendSettings) -> Iterator[flask.Flask]:
    """``create_app(settings)``; its database connections are closed after the test."""
    from copr_frontend.app import create_app

    application = create_app(settings)
    yield application
    application.extensions["copr_database"].dispose()


@pytest.fixture
def client(app: flask.Flask) -> flask.testing.FlaskClient:
    """A Flask test client of ``app``."""
    return app.test_client()


@pytest.fixture
def db_session(settings: FrontendSettings) -> Iterator[Session]:
    """A session on the test's database, apart from the app's."""
    from copr_frontend.db import Database

    database = Database(settings.database_url)
    session = database.sessionmaker()
    yield session
    session.close()
    database.dispose()


@pytest.fixture
def factory(db_session: Session, settings: FrontendSettings) -> Factory:
    """A :class:`Factory` on ``db_session``."""
    return Factory(db_session, settings)


@pytest.fixture
def backend_headers() -> dict[str, str]:
    """HTTP Basic headers with the backend password of ``settings``."""
    return basic_auth("backend", BACKEND_PASSWORD)


@dataclass
class LiveServer:
    """The app served on loopback: its URL, host, port and the app itself."""

    url: str
    host: str
    port: int
    app: flask.Flask


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve the WSGI ``app`` on 127.0.0.1 (a free port unless given); its URL."""
    port = port or free_port()
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live_server(settings: FrontendSettings) -> Iterator[LiveServer]:
    """The app on a real threaded WSGI server; its ``public_url`` is the server's URL."""
    from copr_frontend.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    application = create_app(settings.model_copy(update={"public_url": url}))
    try:
        with serve_app(application, port):
            yield LiveServer(url, "127.0.0.1", port, application)
    finally:
        application.extensions["copr_database"].dispose()
