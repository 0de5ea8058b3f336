"""Redis and the task source going away: workers keep their task, dispatchers keep going.

Redis here is a private server of the test (so that it can be killed), or the test's own
database (so that it can be flushed); workers are real detached processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from copr_common.dispatcher import Dispatcher, TaskSourceError
from copr_common.testing.polling import wait_for
from copr_common.testing.services import RedisServer, ServiceRun, start_redis
from copr_common.worker_manager import (
    QueueTask,
    WorkerAlreadyRunning,
    WorkerManager,
    WorkerSession,
    process_start_time,
)

# Counts its runs of the task in <id>.runs, then waits for <id>.go.  Its heartbeat (how
# soon it writes a lost record again) is the last argument.
WORKER = """
import os, sys, time
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerAlreadyRunning, WorkerSession
url, name, worker_id, where, heartbeat = sys.argv[1:6]
where = Path(where)
session = WorkerSession(redis.Redis.from_url(url), name, worker_id, heartbeat=float(heartbeat))
try:
    session.start()
except WorkerAlreadyRunning:
    (where / f"{worker_id}.handed-over").write_text(str(os.getpid()))
    sys.exit(0)
with open(where / f"{worker_id}.runs", "a") as runs:
    runs.write(f"{os.getpid()}\\n")
while not (where / f"{worker_id}.go").exists():
    time.sleep(0.02)
session.result = {"pid": os.getpid()}
session.finish(session.result)
(where / f"{worker_id}.done").touch()
"""


class Task(QueueTask):
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id

    @property
    def id(self) -> str:
        return self.task_id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.task_id}


class Manager(WorkerManager[Task]):
    def __init__(self, conn: redis.Redis, url: str, where: Path, heartbeat: float = 0.2) -> None:
        super().__init__(conn, "outage-test", max_workers=4, lock_dir=where / "locks")
        self.url = url
        self.where = where
        self.heartbeat = heartbeat

    def worker_command(self, worker_id: str, task: Task) -> list[str]:
        return [
            sys.executable,
            "-c",
            WORKER,
            self.url,
            self.name,
            worker_id,
            str(self.where),
            str(self.heartbeat),
        ]


class Source:
    """Offers the tasks not done yet; ``failing`` makes it act out an unreachable frontend."""

    def __init__(self, where: Path, tasks: list[Task]) -> None:
        self.where = where
        self.tasks = tasks
        self.failing = False
        self.calls = 0

    def get_tasks(self) -> Sequence[Task]:
        self.calls += 1
        if self.failing:
            raise TaskSourceError("connection refused")
        return [t for t in self.tasks if not (self.where / f"{t.id}.done").exists()]


def runs(where: Path, task_id: str) -> list[str]:
    path = where / f"{task_id}.runs"
    return path.read_text().split() if path.exists() else []


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def kill_workers(tmp_path: Path) -> Iterator[None]:
    yield
    # Workers are not our children: end whatever a failed test left behind.
    for path in tmp_path.glob("*.runs"):
        for pid in path.read_text().split():
            if process_start_time(int(pid)) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(pid), signal.SIGKILL)


@pytest.fixture
def own_redis(service_run: ServiceRun) -> Iterator[RedisServer]:
    """A redis-server of this test alone, which it may kill and start again."""
    server = start_redis(service_run, name=f"redis-outage-{uuid.uuid4().hex[:8]}")
    yield server
    service_run.stop(server.process)


@contextlib.contextmanager
def dispatching(dispatcher: Dispatcher[Task]) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        dispatcher.stop()
        thread.join(timeout=10)


# --- workers --------------------------------------------------------------------------------


@pytest.mark.usefixtures("kill_workers")
def test_a_flushed_record_is_written_again_and_the_task_not_started_twice(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    manager = Manager(conn, redis_url, tmp_path, heartbeat=0.2)
    assert manager.dispatch([Task("a")]) == ["a"]
    (pid,) = wait_for(lambda: runs(tmp_path, "a"), what="the worker to run")
    conn.flushdb()  # Redis restarted empty

    def record_back() -> bool:
        return any(r.worker_id == "a" and r.pid == int(pid) for r in manager.workers())

    wait_for(record_back, what="the worker to write its record again")
    assert manager.dispatch([Task("a")]) == []
    (tmp_path / "a.go").touch()
    wait_for(lambda: (tmp_path / "a.done").exists(), what="the worker to finish")
    (finished,) = wait_for(lambda: manager.reap().finished, what="the result")
    assert finished.result == {"pid": int(pid)}
    assert runs(tmp_path, "a") == [pid]


@pytest.mark.usefixtures("kill_workers")
def test_after_a_flush_the_manager_finds_the_running_worker_by_its_lock(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    # The worker would write its record again only after a minute: the manager must find
    # it by its task lock instead of starting a second worker.
    manager = Manager(conn, redis_url, tmp_path, heartbeat=60)
    manager.dispatch([Task("a")])
    (pid,) = wait_for(lambda: runs(tmp_path, "a"), what="the worker to run")
    conn.flushdb()
    assert manager.reap().died == []
    assert not manager.workers()
    assert manager.is_held("a")
    assert manager.dispatch([Task("a")]) == []
    (record,) = manager.workers()
    assert (record.pid, record.state) == (int(pid), "running")

    (tmp_path / "a.go").touch()
    (finished,) = wait_for(lambda: manager.reap().finished, what="the worker's result")
    assert finished.result == {"pid": int(pid)}
    assert runs(tmp_path, "a") == [pid]


@pytest.mark.usefixtures("kill_workers")
def test_a_second_worker_for_a_running_task_hands_it_over_and_does_nothing(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    manager = Manager(conn, redis_url, tmp_path, heartbeat=60)
    manager.dispatch([Task("a")])
    (pid,) = wait_for(lambda: runs(tmp_path, "a"), what="the worker to run")
    # A manager that raced the lost record: it made a new one, and its worker starts.
    conn.flushdb()
    conn.hset("copr:outage-test:worker:a", mapping={"state": "starting", "task": "{}"})
    conn.sadd("copr:outage-test:workers", "a")
    second = WorkerSession(conn, "outage-test", "a", lock_dir=tmp_path / "locks")
    with pytest.raises(WorkerAlreadyRunning, match=f"already run by worker {pid}"):
        second.start()

    (record,) = manager.workers()
    assert (record.pid, record.state) == (int(pid), "running")
    assert manager.reap().died == []
    (tmp_path / "a.go").touch()
    (finished,) = wait_for(lambda: manager.reap().finished, what="the first worker's result")
    assert finished.result == {"pid": int(pid)}
    assert runs(tmp_path, "a") == [pid]


# --- dispatchers ----------------------------------------------------------------------------


def outage_lines(caplog: pytest.LogCaptureFixture, what: str) -> tuple[int, int]:
    messages = [record.getMessage() for record in caplog.records]
    started = sum(m.startswith(f"{what} is unavailable") for m in messages)
    ended = sum(m.startswith(f"{what} is back after") for m in messages)
    return started, ended


@pytest.mark.usefixtures("kill_workers")
def test_the_dispatcher_rides_out_a_redis_outage_and_logs_it_once(
    own_redis: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = own_redis.url()
    conn = redis.Redis.from_url(url, socket_timeout=2)
    source = Source(tmp_path, [Task("before")])
    dispatcher = Dispatcher(source, Manager(conn, url, tmp_path), sleep_time=0.1)
    with dispatching(dispatcher) as thread:
        wait_for(lambda: runs(tmp_path, "before"), what="the first task to run")
        own_redis.kill()
        calls = source.calls
        # Many rounds' worth of time with Redis gone.
        time.sleep(3)
        assert thread.is_alive()
        own_redis.restart()
        source.tasks.append(Task("after"))
        wait_for(lambda: runs(tmp_path, "after"), what="a task queued after the outage to run")
        assert thread.is_alive()
    for task_id in ("before", "after"):
        (tmp_path / f"{task_id}.go").touch()
    # Rounds went on, slower (backoff), and the outage took one line at each end.
    assert source.calls > calls
    assert outage_lines(caplog, "redis") == (1, 1), caplog.text
    # The worker that ran through the outage kept its task: it was not started twice.
    wait_for(lambda: (tmp_path / "before.done").exists(), what="the first worker to finish")
    assert len(runs(tmp_path, "before")) == 1
    conn.close()


@pytest.mark.usefixtures("kill_workers")
def test_the_dispatcher_rides_out_a_frontend_outage_and_logs_it_once(
    conn: redis.Redis, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source = Source(tmp_path, [])
    source.failing = True
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path), sleep_time=0.05)
    with dispatching(dispatcher) as thread:
        wait_for(lambda: source.calls >= 5, what="several failed rounds")
        assert thread.is_alive()
        source.tasks.append(Task("a"))
        source.failing = False
        wait_for(lambda: runs(tmp_path, "a"), what="the task to run once the source is back")
    (tmp_path / "a.go").touch()
    assert outage_lines(caplog, "the task source") == (1, 1), caplog.text
