"""The backend's queue feed, ``GET /backend/pending-jobs/``, and one whole dispatch round at
10,000, 100,000 and 1,000,000 pending build chroots over 1,000 owners, against
PostgreSQL's raw ``COPY`` of the queue's rows.

Starts a private PostgreSQL, a private Redis and the frontend as its own process
(``copr-frontend serve``, so that its memory is measured apart from this script's), fills
1,000 owners with a project each and builds of two pending chroots each (bulk inserts,
then ANALYZE), and for each queue size times, as the median of ``--repeat`` runs after one
warm-up:

- ``full``: the whole feed read to its end over HTTP (sizes up to ``--full-max`` only);
- ``page``: the page a build dispatcher with ``--slots`` free slots asks for
  (``?limit=``, :meth:`BuildTaskSource.page_limit`);
- ``round``: one round of the real build dispatcher (``Dispatcher.run_once``: reap,
  page, cancel requests, fair counters, limits, claims in Redis, worker starts) whose
  workers are ``true`` (the round's own work, not a worker's);
- ``COPY``: ``COPY (<the feed's two queries>) TO STDOUT`` of every queued row: what it
  costs PostgreSQL alone to hand over the queue the round has to order.

Prints them, the round's ratio to ``COPY``, and the growth of the frontend's peak resident
memory (``VmHWM``) since it started: a feed that gathers its body in memory grows it with
the queue, a streamed one does not.

    .venv/bin/python bench/pending_jobs.py [--sizes 10000,100000,1000000] [--owners 1000]
        [--repeat 5] [--slots 20] [--full-max 100000]

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
from redis import Redis
from sqlalchemy import insert, select, text

from copr_backend.builds.dispatcher import BuildTaskSource, BuildWorkerManager
from copr_backend.frontend import frontend_client
from copr_backend.scheduling import BuildQueueTask
from copr_backend.settings import BackendSettings
from copr_common.dispatcher import Dispatcher
from copr_common.enums import FINISHED_STATES, BuildSourceEnum, StatusEnum
from copr_common.testing.services import free_port, service_run, start_postgres, start_redis
from copr_frontend.builds.models import Build, BuildChroot, sandbox_name
from copr_frontend.db import Database, now
from copr_frontend.migrate import upgrade_database
from copr_frontend.mockchroots.models import MockChroot
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
        names = dict(users)
        self.owners = [
            (project, dirs[project], user, sandbox_name(names[user], "queue", names[user]))
            for project, user in projects
        ]
        self.arches = dict(
            self.session.execute(
                select(MockChroot.id, MockChroot.arch).where(MockChroot.id.in_(self.chroot_ids))
            ).all()
        )
        self.session.commit()
        self.tasks = 0

    def grow_to(self, tasks: int) -> None:
        """Add builds of one pending task per chroot until ``tasks`` are pending."""
        builds = (tasks - self.tasks) // len(self.chroot_ids)
        for first in range(0, builds, CHUNK):
            rows = []
            for number in range(first, min(first + CHUNK, builds)):
                project, dir_id, user, sandbox = self.owners[number % len(self.owners)]
                rows.append(
                    {"project_id": project, "dir_id": dir_id, "user_id": user,
                     "pkg_name": "hello", "state": StatusEnum.pending,
                     "source_status": StatusEnum.succeeded, "source_type": BuildSourceEnum.scm,
                     "source_json": {"clone_url": "https://example.org/hello.git"},
                     "submitted_on": now(), "queue_key": sandbox}
                )  # fmt: skip
            ids = self.session.scalars(insert(Build).returning(Build.id), rows).all()
            self.session.execute(
                insert(BuildChroot),
                [{"build_id": id_, "mock_chroot_id": chroot, "status": StatusEnum.pending,
                  "queue_key": f"{row['queue_key']} {self.arches[chroot]}",
                  "is_background": False}
                 for id_, row in zip(ids, rows, strict=True) for chroot in self.chroot_ids],
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


def read_feed(url: str, limit: int | None = None) -> tuple[int, int]:
    """Bytes and tasks of the feed (or of its first ``limit`` pending tasks)."""
    params = {} if limit is None else {"limit": limit}
    response = requests.get(f"{url}/backend/pending-jobs/", params=params, timeout=600)
    response.raise_for_status()
    return len(response.content), len(response.json())


class _IdleWorkers(BuildWorkerManager):
    """The build dispatcher's manager with workers that exit at once: a round's own work."""

    def worker_command(self, worker_id: str, task: BuildQueueTask) -> list[str]:
        return ["true"]


class DispatchRound:
    """One round of the real build dispatcher against the frontend, from a clean Redis."""

    def __init__(self, frontend_url: str, redis_url: str, root: Path, slots: int) -> None:
        self.settings = BackendSettings.model_validate(
            {
                "frontend_url": frontend_url,
                "frontend_auth": BACKEND_PASSWORD,
                "redis_url": redis_url,
                "frontend_timeout": 600.0,
                "local_slots": slots,
                "local_pool_dir": str(root / "pool"),
                "worker_log_dir": str(root / "worker-logs"),
                "state_dir": str(root / "backend-state"),
            }
        )
        self.redis = Redis.from_url(redis_url)
        self.manager = _IdleWorkers(self.redis, self.settings)
        self.client = frontend_client(self.settings)
        self.dispatcher = Dispatcher(
            BuildTaskSource(self.client, self.manager), self.manager, sleep_time=1.0
        )

    def page_limit(self) -> int:
        limit = BuildTaskSource(self.client, self.manager).page_limit()
        assert limit is not None
        return limit

    def __call__(self) -> int:
        self.redis.flushdb()  # no worker of an earlier round is running
        report = self.dispatcher.run_once()
        if report.error is not None:
            raise SystemExit(f"the dispatch round failed: {report.error}")
        return len(report.started)

    def close(self) -> None:
        self.client.close()
        self.redis.close()


def timed(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up: caches, connection pool, the planner's statistics
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


BACKEND_PASSWORD = "bench-backend-password"  # noqa: S105


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
        COPR_FRONTEND_BACKEND_PASSWORD=BACKEND_PASSWORD,
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
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="pending build chroots to measure at, comma-separated")  # fmt: skip
    parser.add_argument("--owners", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--slots", type=int, default=20,
                        help="the dispatcher's free build slots")  # fmt: skip
    parser.add_argument("--full-max", type=int, default=100000,
                        help="read the whole feed only up to this queue size")  # fmt: skip
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with service_run() as run:
        postgres = start_postgres(run)
        redis = start_redis(run)
        url = postgres.create_database("bench_queue")
        upgrade_database(url)
        queue = Queue(url, args.owners)
        root = Path(run.root)
        frontend, frontend_url = start_frontend(url, root)
        round_ = DispatchRound(frontend_url, redis.url(), root, args.slots)
        try:
            start_rss = peak_rss_mib(frontend.pid)
            limit = round_.page_limit()
            print(f"frontend started, peak RSS {start_rss:.0f} MiB; "
                  f"{args.slots} free slots: pages of {limit}")  # fmt: skip
            print(f"{'pending':>9}{'fill s':>8}{'full ms':>9}{'page ms':>9}{'round ms':>10}"
                  f"{'COPY ms':>9}{'round/COPY':>12}{'started':>9}{'RSS +MiB':>10}")  # fmt: skip
            for size in sizes:
                started = time.perf_counter()
                queue.grow_to(size)
                filled = time.perf_counter() - started
                _, rows = copy_rows(postgres.url("bench_queue"))
                if rows != queue.tasks:
                    raise SystemExit(f"COPY read {rows} rows, {queue.tasks} are pending")
                full = "-"
                if size <= args.full_max:
                    _, tasks = read_feed(frontend_url)
                    if tasks != rows:
                        raise SystemExit(f"the feed listed {tasks} tasks, COPY {rows} rows")
                    full = f"{timed(lambda: read_feed(frontend_url), args.repeat) * 1000:.0f}"
                _, tasks = read_feed(frontend_url, limit)
                if tasks != min(limit, rows):
                    raise SystemExit(f"a page of {limit} listed {tasks} tasks")
                page = timed(lambda: read_feed(frontend_url, limit), args.repeat)
                launched = round_()
                if launched != min(args.slots, rows):
                    raise SystemExit(f"the round started {launched} of {args.slots} workers")
                dispatch = timed(round_, args.repeat)
                raw = timed(lambda: copy_rows(postgres.url("bench_queue")), args.repeat)
                print(f"{size:>9}{filled:>8.1f}{full:>9}{page * 1000:>9.0f}"
                      f"{dispatch * 1000:>10.0f}{raw * 1000:>9.0f}{dispatch / raw:>12.2f}"
                      f"{launched:>9}{peak_rss_mib(frontend.pid) - start_rss:>10.0f}")  # fmt: skip
        finally:
            round_.close()
            frontend.terminate()
            frontend.wait(timeout=30)
            queue.close()


if __name__ == "__main__":
    main()
