"""SQLite, the local default, under concurrent writers: a lock is never an error.

Sixteen clients write at once through a real threaded server (project add and edit,
package add, regenerate-repos, SRPM upload, backend reports) while others read; every
answer must be a success and every write must have landed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from copr_common.testing.services import free_port
from copr_frontend.actions.models import Action
from copr_frontend.app import create_app
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory, basic_auth

CLIENTS = 16
ROUNDS = 3
BACKEND_PASSWORD = "sqlite-backend-pw"
SRPM = b"\xed\xab\xee\xdb" + bytes(60)


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[tuple[str, Factory, Database]]:
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    port = free_port()
    settings = FrontendSettings(
        database_url=url,
        secret_key="sqlite-secret-0123456789",
        backend_password=BACKEND_PASSWORD,
        public_url=f"http://127.0.0.1:{port}",
        upload_dir=tmp_path / "uploads",
    )
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    database = Database(url)
    session = database.sessionmaker()
    try:
        yield f"http://127.0.0.1:{port}", Factory(session, settings), database
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        session.close()
        database.dispose()
        app.extensions["copr_database"].dispose()


def _writes(base: str, auth: dict[str, str], owner: str, index: int) -> Iterator[requests.Response]:
    """One client's mix of writes (and a read between them)."""
    http = requests.Session()
    http.headers.update(auth)
    backend = basic_auth("backend", BACKEND_PASSWORD)
    for round_ in range(ROUNDS):
        name = f"c{index}r{round_}"
        yield http.post(
            f"{base}/api_3/project/add/{owner}",
            json={"name": name, "chroots": ["fedora-42-x86_64"]},
            timeout=120,
        )
        yield http.post(
            f"{base}/api_3/project/edit/{owner}/{name}",
            json={"description": f"round {round_}"},
            timeout=120,
        )
        yield http.post(
            f"{base}/api_3/package/add/{owner}/{name}/pkg/pypi",
            json={"pypi_package_name": "pkg"},
            timeout=120,
        )
        yield http.put(f"{base}/api_3/project/regenerate-repos/{owner}/{name}", timeout=120)
        yield http.post(
            f"{base}/api_3/build/create/upload",
            data={"json": f'{{"ownername": "{owner}", "projectname": "{name}"}}'},
            files={"pkgs": ("x-1-1.src.rpm", SRPM)},
            timeout=120,
        )
        yield http.post(f"{base}/backend/update/", json={"builds": []}, headers=backend,
                        timeout=120)  # fmt: skip
        yield http.get(f"{base}/api_3/project/list?ownername={owner}", timeout=120)


def test_sixteen_concurrent_writers_get_no_error(
    sqlite_server: tuple[str, Factory, Database],
) -> None:
    base, factory, database = sqlite_server
    factory.mock_chroot("fedora-42-x86_64")
    owner = factory.user("owner")
    auth = factory.auth(owner)
    codes: Counter[int] = Counter()
    failures: list[str] = []
    barrier = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        barrier.wait()
        try:
            for response in _writes(base, auth, "owner", index):
                codes[response.status_code] += 1
                if response.status_code != 200:
                    failures.append(f"{response.request.method} {response.url}: "
                                    f"{response.status_code} {response.text[:200]}")  # fmt: skip
        except requests.RequestException as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, (dict(codes), failures[:5])
    assert codes[200] == CLIENTS * ROUNDS * 7

    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == CLIENTS * ROUNDS
        assert session.scalar(select(func.count()).select_from(Package)) == CLIENTS * ROUNDS
        edited = session.scalars(select(Project.description)).all()
        assert all(d and d.startswith("round ") for d in edited)
        # One createrepo action per new project and one per regenerate-repos.
        assert session.scalar(select(func.count()).select_from(Action)) >= 2 * CLIENTS * ROUNDS


def test_a_unit_of_work_that_meets_a_lock_runs_again_as_a_writer(tmp_path: Path) -> None:
    """A GET that writes after another connection committed cannot upgrade its read
    transaction (SQLite refuses at once); the whole view runs again with the lock."""
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    settings = FrontendSettings(
        database_url=url, secret_key="sqlite-secret-0123456789", backend_password="sqlite-be-pw"
    )
    app = create_app(settings)
    other = Database(url)
    attempts: list[str] = []

    def reads_then_writes() -> str:
        from copr_frontend import db
        from copr_frontend.users.logic import create_user

        session = db.session()
        session.scalar(select(func.count()).select_from(Project))  # the snapshot starts
        attempts.append("attempt")
        if len(attempts) == 1:
            with other.sessionmaker() as meanwhile:
                create_user(meanwhile, "meanwhile")
                meanwhile.commit()
        create_user(session, f"writer{len(attempts)}")
        session.commit()
        return "done"

    app.add_url_rule("/test-reads-then-writes", view_func=reads_then_writes)
    try:
        response = app.test_client().get("/test-reads-then-writes")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert attempts == ["attempt", "attempt"]
        with other.sessionmaker() as session:
            from copr_frontend.users.models import User

            names = set(session.scalars(select(User.name)))
        assert names == {"meanwhile", "writer2"}
    finally:
        other.dispose()
        app.extensions["copr_database"].dispose()


def test_a_lock_held_through_every_attempt_is_a_503_and_nothing_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copr_frontend import db

    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT", 0.2)
    settings = FrontendSettings(
        database_url=url, secret_key="sqlite-secret-0123456789", backend_password="sqlite-be-pw"
    )
    app = create_app(settings)
    holder = Database(url)
    factory_session = holder.sessionmaker()
    try:
        factory = Factory(factory_session, settings)
        factory.mock_chroot("fedora-42-x86_64")
        auth = factory.auth(factory.user("owner"))
        with holder.engine.connect() as locked:
            locked.exec_driver_sql("DELETE FROM cancel_requests")  # takes the write lock
            response = app.test_client().post(
                "/api_3/project/add/owner", json={"name": "p"}, headers=auth
            )
            locked.rollback()
        assert response.status_code == 503, response.get_data(as_text=True)
        assert "locked" in response.get_json()["error"]
        factory_session.expire_all()
        assert factory_session.scalar(select(func.count()).select_from(Project)) == 0
    finally:
        factory_session.close()
        holder.dispose()
        app.extensions["copr_database"].dispose()
