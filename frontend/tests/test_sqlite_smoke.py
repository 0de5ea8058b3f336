"""Smoke test on SQLite, the local default: migrate, serve, run a build through."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from copr_common.enums import StatusEnum
from copr_frontend.app import create_app
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory, basic_auth

from .backend_api.test_paged_queue import reference, states
from .test_query_bounds import CHROOTS, fill


def test_sqlite_end_to_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    settings = FrontendSettings(
        database_url=url, secret_key="sqlite-secret-0123456789", backend_password="sqlite-be-pw"
    )
    database = Database(url)
    session = database.sessionmaker()
    app = create_app(settings)
    try:
        factory = Factory(session, settings)
        user = factory.user("local")
        project = factory.project(user, "proj", chroots=["fedora-42-x86_64"])
        build = factory.build(project)
        client = app.test_client()
        headers = factory.auth(user)
        assert client.get("/api_3/auth-check", headers=headers).get_json()["name"] == "local"

        backend = basic_auth("backend", "sqlite-be-pw")
        jobs = client.get("/backend/pending-jobs/").get_json()
        assert [j["task_id"] for j in jobs] == [str(build.id)]
        update = {"builds": [{"id": build.id, "task_id": str(build.id), "status": 1,
                              "pkg_name": "hello"}]}  # fmt: skip
        assert client.post("/backend/update/", json=update, headers=backend).status_code == 200
        commits = {"build_id": build.id, "branch_commits": {"f42": "f" * 40}}
        assert client.post("/backend/import-completed/", json=commits, headers=backend).json == {
            "updated": True
        }
        session.expire_all()
        assert build.state == StatusEnum.pending
        assert build.chroots[0].status == StatusEnum.pending
        # The monitor's correlated probe runs on SQLite too (API and page).
        monitor = client.get("/api_3/monitor?ownername=local&projectname=proj").get_json()
        cell = {"build_id": build.id, "state": "pending", "status": 4, "pkg_version": None}
        assert monitor["packages"] == [{"name": "hello", "chroots": {"fedora-42-x86_64": cell}}]
        assert client.get("/coprs/local/proj/monitor/").status_code == 200
        repo = client.get("/coprs/local/proj/repo/fedora-42/dnf.repo?arch=x86_64")
        assert repo.status_code == 200
        # Foreign keys are enforced on SQLite too.
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        session.close()
        database.dispose()
        app.extensions["copr_database"].dispose()


def test_sqlite_files_are_private(tmp_path: Path) -> None:
    """The database holds webhook secrets and token hashes: 0600, with its -wal and -shm,
    also when it was made wider before."""
    path = tmp_path / "copr.sqlite"
    upgrade_database(f"sqlite:///{path}")
    database = Database(f"sqlite:///{path}")
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            files = sorted(tmp_path.glob("copr.sqlite*"))
            assert [f.name for f in files] == ["copr.sqlite", "copr.sqlite-shm", "copr.sqlite-wal"]
            assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {
                f.name: "0o600" for f in files
            }
    finally:
        database.dispose()
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o600


def test_sqlite_pending_jobs_are_the_full_tasks_short_fields(tmp_path: Path) -> None:
    """The queue's column query (a JSON path into ``source_json``, the partial index) on
    SQLite: every streamed task says what the full task JSON, read through the ORM, says."""
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    settings = FrontendSettings(
        database_url=url, secret_key="sqlite-secret-0123456789", backend_password="sqlite-be-pw"
    )
    database = Database(url)
    session = database.sessionmaker()
    app = create_app(settings)
    try:
        factory = Factory(session, settings)
        fill(factory, owners=2)
        client = app.test_client()
        body = client.get("/backend/pending-jobs/").get_data(as_text=True)
        jobs = json.loads(body)
        assert body == json.dumps(jobs, sort_keys=True, separators=(",", ":")) + "\n"
        assert len(jobs) == 2 * (2 + 2 * len(CHROOTS))
        for job in jobs:
            kind = "get-build-task" if "-" in job["task_id"] else "get-srpm-build-task"
            full = client.get(f"/backend/{kind}/{job['task_id']}/").get_json()
            short = {"task_id", "build_id", "project_owner", "sandbox", "background", "chroot"}
            assert set(job) == short | ({"tags"} if kind == "get-build-task" else set())
            assert job == {key: full[key] for key in job}
        assert sorted(j["chroot"] for j in jobs if "-" not in j["task_id"] and j["chroot"]) == [
            "fedora-42-x86_64",
            "fedora-42-x86_64",
        ]
        # The paged feed ranks in SQL: on SQLite too, it holds the started tasks and the
        # first 5 pending ones of the backend's order, with the backend's priorities.
        state = states(factory)
        ranked = reference(jobs)
        wanted = [(p, job) for p, job in ranked if state[job["task_id"]] != StatusEnum.pending]
        wanted += [(p, job) for p, job in ranked if state[job["task_id"]] == StatusEnum.pending][:5]
        page = client.get("/backend/pending-jobs/?limit=5").get_json()
        assert sorted((job.pop("priority"), job["task_id"]) for job in page) == sorted(
            (priority, job["task_id"]) for priority, job in wanted
        )
    finally:
        session.close()
        database.dispose()
        app.extensions["copr_database"].dispose()
