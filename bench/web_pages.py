"""Render time of the web UI's project, builds and monitor pages of a project with
100,000 builds, as a ratio against the matching API v3 call.

Starts a private PostgreSQL, fills one project (two chroots, 100 packages) with
``--builds`` succeeded builds of one task per chroot (bulk inserts, then ANALYZE), and
times each page through the app in this process (no network in the way) — the median
of ``--repeat`` requests after one warm-up — next to the API v3 call that lists the same
rows: ``project`` for the overview, ``build/list`` (50 newest, the page's size) for the
builds page, ``monitor`` for the monitor.  Prints the medians, the page/API ratio, the
page's ratio to the 200 ms target (below 1 is under the target) and the SQL statements
one request of each runs.

    .venv/bin/python bench/web_pages.py [--builds 100000] [--packages 100] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import flask
from sqlalchemy import Engine, event, insert, select, text

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.testing.services import service_run, start_postgres
from copr_frontend.app import create_app
from copr_frontend.builds.models import Build, BuildChroot, sandbox_name
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

TARGET = 0.200
CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64")
CHUNK = 5000


def fill(database_url: str, builds: int, packages: int) -> None:
    database = Database(database_url)
    session = database.sessionmaker()
    factory = Factory(session)
    owner = factory.user("bench")
    project = factory.project(owner, "big", chroots=CHROOTS, description="Bench *project*")
    pkgs = [factory.package(project, f"package-{i:03d}") for i in range(packages)]
    chroot_ids = [c.mock_chroot_id for c in project.chroots]
    arches = {c.mock_chroot_id: c.mock_chroot.arch for c in project.chroots}
    dir_id = project.main_dir.id
    sandbox = sandbox_name(project.ownername, project.main_dir.name, owner.name)
    start = int(time.time()) - builds * 10
    next_id = 1
    for first in range(0, builds, CHUNK):
        rows = []
        for number in range(first, min(first + CHUNK, builds)):
            package = pkgs[number % packages]
            rows.append(
                {
                    "id": next_id + number, "project_id": project.id, "dir_id": dir_id,
                    "package_id": package.id, "user_id": owner.id, "pkg_name": package.name,
                    "pkg_version": f"{number // packages + 1}-1", "state": StatusEnum.succeeded,
                    "source_status": StatusEnum.succeeded, "source_type": BuildSourceEnum.scm,
                    "source_json": {"clone_url": "https://example.org/x.git"},
                    "submitted_on": start + number * 10, "started_on": start + number * 10 + 1,
                    "ended_on": start + number * 10 + 9, "queue_key": sandbox,
                }
            )  # fmt: skip
        session.execute(insert(Build), rows)
        session.execute(
            insert(BuildChroot),
            [
                {"build_id": row["id"], "mock_chroot_id": chroot, "status": StatusEnum.succeeded,
                 "started_on": row["started_on"], "ended_on": row["ended_on"],
                 "result_dir": f"{row['id']:08d}-{row['pkg_name']}",
                 "queue_key": f"{sandbox} {arches[chroot]}", "is_background": False}
                for row in rows
                for chroot in chroot_ids
            ],
        )  # fmt: skip
        session.commit()
    session.execute(text("SELECT setval('builds_id_seq', (SELECT max(id) FROM builds))"))
    session.commit()
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    assert session.scalar(select(Build.id).order_by(Build.id.desc()).limit(1)) == builds
    session.close()
    database.dispose()


class QueryCounter:
    """SQL statements the app runs, to show a page's count does not grow with its rows."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: object) -> None:
        self.count += 1

    def of(self, call: Callable[[], None]) -> int:
        before = self.count
        call()
        return self.count - before


def timed(call: Callable[[], None], repeat: int) -> float:
    call()  # warm-up: caches, templates, connection pool
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def getter(client: flask.testing.FlaskClient, path: str) -> Callable[[], None]:
    def get() -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.get_data()

    return get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with service_run() as run:
        postgres = start_postgres(run)
        url = postgres.create_database("bench_web")
        upgrade_database(url)
        started = time.perf_counter()
        fill(url, args.builds, args.packages)
        print(f"filled {args.builds} builds x {len(CHROOTS)} chroots, {args.packages} "
              f"packages in {time.perf_counter() - started:.1f} s")  # fmt: skip
        settings = FrontendSettings(
            database_url=url, secret_key="bench-secret-key-0123456789",  # noqa: S106
            backend_password="bench-backend-password",  # noqa: S106
            upload_dir=Path(run.root) / "uploads",
        )  # fmt: skip
        app = create_app(settings)
        client = app.test_client()
        pairs = [
            ("project page", "/coprs/bench/big/",
             "api project", "/api_3/project?ownername=bench&projectname=big"),
            ("builds page", "/coprs/bench/big/builds/",
             "api build/list", "/api_3/build/list?ownername=bench&projectname=big&limit=50"
             "&order=id&order_type=DESC"),
            ("monitor page", "/coprs/bench/big/monitor/",
             "api monitor", "/api_3/monitor?ownername=bench&projectname=big"),
        ]  # fmt: skip
        counter = QueryCounter(app.extensions["copr_database"].engine)
        print(f"{'what':<16}{'page ms':>10}{'api ms':>10}{'page/api':>10}{'page/200ms':>12}"
              f"{'queries':>9}{'api q':>7}")  # fmt: skip
        for page_name, page_path, api_name, api_path in pairs:
            page = timed(getter(client, page_path), args.repeat)
            api = timed(getter(client, api_path), max(3, args.repeat // 5))
            page_queries = counter.of(getter(client, page_path))
            api_queries = counter.of(getter(client, api_path))
            print(f"{page_name:<16}{page * 1000:>10.1f}{api * 1000:>10.1f}"
                  f"{page / api:>10.2f}{page / TARGET:>12.2f}{page_queries:>9}{api_queries:>7}"
                  f"   ({api_name})")  # fmt: skip
        app.extensions["copr_database"].dispose()


if __name__ == "__main__":
    main()
