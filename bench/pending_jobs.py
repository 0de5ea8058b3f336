"""The backend's queue feed, ``GET /backend/pending-jobs/``, at 10,000 and 100,000 pending
build chroots over 1,000 owners, against PostgreSQL's raw ``COPY`` of the same rows.

Starts a private PostgreSQL and the frontend as its own process (``copr-frontend serve``,
so that its memory is measured apart from this script's), fills 1,000 owners with a
project each and builds of two pending chroots each (bulk inserts, then ANALYZE), and for
each queue size times the feed read to its end over HTTP — the median of ``--repeat``
reads after one warm-up — next to ``COPY (<the same query>) TO STDOUT`` of the rows the
feed lists.  Prints both, the ratio, the tasks listed, and the frontend's peak resident
memory (``VmHWM``) after each size: a feed that gathers its body in memory grows it with
the queue, a streamed one does not.

    .venv/bin/python bench/pending_jobs.py [--sizes 10000,100000] [--owners 1000] [--repeat 5]

(Not ``bench/queue.py``: run as a script, that name would shadow the standard library's
``queue``, which psycopg and urllib3 import.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
from sqlalchemy import insert, select, text

from copr_common.enums import FINISHED_STATES, BuildSourceEnum, StatusEnum
from copr_common.testing.services import free_port, service_run, start_postgres
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.db import Database, now
from copr_frontend.migrate import upgrade_database
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64")
CHUNK = 5000
COPR_FRONTEND = Path(sys.executable).parent / "copr-frontend"

_TODO = ", ".join(
    str(int(s)) for s in (StatusEnum.pending, StatusEnum.starting, StatusEnum.running)
)
_FINISHED = ", ".join(str(int(s)) for s in sorted(FINISHED_STATES))
_NAMES = f"""
    JOIN projects p ON p.id = b.project_id
    JOIN project_dirs d ON d.id = b.dir_id
    LEFT JOIN users u ON u.id = b.user_id
    LEFT JOIN batches bt ON bt.id = b.batch_id
    WHERE NOT b.canceled AND (b.batch_id IS NULL OR bt.blocked_by_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM builds x
        WHERE x.batch_id = bt.blocked_by_id AND x.state NOT IN ({_FINISHED})))
"""  # noqa: S608 - numbers of our own enums
RAW_QUERIES = (
    f"""SELECT b.id, b.is_background, b.submitted_by, p.ownername, d.name, u.name,
               b.source_type, b.source_json -> 'chroot'
        FROM builds b {_NAMES} AND b.source_status IN ({_TODO})
        ORDER BY b.is_background, b.id""",
    f"""SELECT m.name, m.tags, b.id, b.is_background, b.submitted_by, p.ownername, d.name,
               u.name
        FROM build_chroots c JOIN builds b ON b.id = c.build_id
        JOIN mock_chroots m ON m.id = c.mock_chroot_id {_NAMES} AND c.status IN ({_TODO})
        ORDER BY b.is_background, b.id, c.id""",
)
"""What the feed's two queries read, written by hand: the raw baseline."""


class Queue:
    """1,000 owners with a project each; pending builds added to reach a queue size."""

    def __init__(self, database_url: str, owners: int) -> None:
        self.database = Database(database_url)
        self.session = self.database.sessionmaker()
        factory = Factory(self.session)
        self.chroot_ids = [factory.mock_chroot(name).id for name in CHROOTS]
        self.session.execute(insert(User), [{"name": f"owner{i:04d}"} for i in range(owners)])
        users = self.session.execute(select(User.id, User.name).order_by(User.id)).all()
        self.session.execute(
            insert(Project),
            [{"name": "queue", "ownername": name, "user_id": id_} for id_, name in users],
        )
        projects = self.session.execute(
            select(Project.id, Project.user_id).order_by(Project.id)
        ).all()
        self.session.execute(
            insert(ProjectDir),
            [{"project_id": id_, "name": "queue", "main": True} for id_, _ in projects],
        )
        dirs = dict(self.session.execute(select(ProjectDir.project_id, ProjectDir.id)).all())
        self.owners = [(project, dirs[project], user) for project, user in projects]
        self.session.commit()
        self.tasks = 0

    def grow_to(self, tasks: int) -> None:
        """Add builds of one pending task per chroot until ``tasks`` are pending."""
        builds = (tasks - self.tasks) // len(self.chroot_ids)
        for first in range(0, builds, CHUNK):
            rows = []
            for number in range(first, min(first + CHUNK, builds)):
                project, dir_id, user = self.owners[number % len(self.owners)]
                rows.append(
                    {"project_id": project, "dir_id": dir_id, "user_id": user,
                     "pkg_name": "hello", "state": StatusEnum.pending,
                     "source_status": StatusEnum.succeeded, "source_type": BuildSourceEnum.scm,
                     "source_json": {"clone_url": "https://example.org/hello.git"},
                     "submitted_on": now()}
                )  # fmt: skip
            ids = self.session.scalars(insert(Build).returning(Build.id), rows).all()
            self.session.execute(
                insert(BuildChroot),
                [{"build_id": id_, "mock_chroot_id": chroot, "status": StatusEnum.pending}
                 for id_ in ids for chroot in self.chroot_ids],
            )  # fmt: skip
            self.session.commit()
        self.tasks += builds * len(self.chroot_ids)
        with self.database.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))

    def close(self) -> None:
        self.session.close()
        self.database.dispose()


def copy_rows(dsn: str) -> tuple[int, int]:
    """Bytes and rows of the raw queries, read with COPY ... TO STDOUT."""
    size = rows = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        for query in RAW_QUERIES:
            with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for data in copy:
                    size += len(data)
                    rows += bytes(data).count(b"\n")
    return size, rows


def read_feed(url: str) -> tuple[int, int]:
    """Bytes and tasks of the feed, read as the backend reads it."""
    response = requests.get(f"{url}/backend/pending-jobs/", timeout=300)
    response.raise_for_status()
    return len(response.content), len(response.json())


def timed(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up: caches, connection pool, the planner's statistics
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def start_frontend(database_url: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ,
        COPR_FRONTEND_DATABASE_URL=database_url,
        COPR_FRONTEND_SECRET_KEY="bench-secret-key-0123456789",  # noqa: S106
        COPR_FRONTEND_BACKEND_PASSWORD="bench-backend-password",  # noqa: S106
        COPR_FRONTEND_UPLOAD_DIR=str(root / "uploads"),
    )
    log = (root / "frontend.log").open("wb")
    process = subprocess.Popen(
        [str(COPR_FRONTEND), "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"copr-frontend serve exited; see {root / 'frontend.log'}")
        try:
            requests.get(f"{url}/backend/pending-action-count/", timeout=5).raise_for_status()
            return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("copr-frontend serve did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="pending build chroots to measure at, comma-separated")  # fmt: skip
    parser.add_argument("--owners", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with service_run() as run:
        postgres = start_postgres(run)
        url = postgres.create_database("bench_queue")
        upgrade_database(url)
        queue = Queue(url, args.owners)
        frontend, frontend_url = start_frontend(url, Path(run.root))
        try:
            print(f"frontend started, peak RSS {peak_rss_mib(frontend.pid):.0f} MiB")
            print(f"{'pending':>9}{'fill s':>8}{'feed ms':>10}{'COPY ms':>10}{'feed/COPY':>11}"
                  f"{'tasks':>8}{'feed MiB':>10}{'peak RSS MiB':>14}")  # fmt: skip
            for size in sizes:
                started = time.perf_counter()
                queue.grow_to(size)
                filled = time.perf_counter() - started
                size_bytes, tasks = read_feed(frontend_url)
                _, rows = copy_rows(postgres.url("bench_queue"))
                if tasks != rows or tasks != queue.tasks:
                    raise SystemExit(f"the feed listed {tasks} tasks, COPY {rows} rows, "
                                     f"{queue.tasks} are pending")  # fmt: skip
                feed = timed(lambda: read_feed(frontend_url), args.repeat)
                raw = timed(lambda: copy_rows(postgres.url("bench_queue")), args.repeat)
                print(f"{size:>9}{filled:>8.1f}{feed * 1000:>10.0f}{raw * 1000:>10.0f}"
                      f"{feed / raw:>11.1f}{tasks:>8}{size_bytes / 2**20:>10.1f}"
                      f"{peak_rss_mib(frontend.pid):>14.0f}")  # fmt: skip
        finally:
            frontend.terminate()
            frontend.wait(timeout=30)
            queue.close()


if __name__ == "__main__":
    main()
