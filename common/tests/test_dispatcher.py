"""The dispatcher loop against a real Redis, with real detached worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from copr_common.dispatcher import Dispatcher, TaskSourceError
from copr_common.worker_manager import (
    QueueTask,
    WorkerManager,
    process_start_time,
    wakeup_dispatcher,
)

# Announces itself, records when it started, takes the task off the source's list (as an
# import worker's report to the frontend would), then finishes.
WORKER = """
import sys, time
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerSession
url, name, worker_id, where = sys.argv[1:5]
with WorkerSession(redis.Redis.from_url(url), name, worker_id) as session:
    (Path(where) / f"{worker_id}.started").write_text(repr(time.time()))
    time.sleep(session.task["seconds"])
    (Path(where) / f"{worker_id}.done").touch()
"""


class Task(QueueTask):
    def __init__(self, task_id: str, seconds: float = 0.0) -> None:
        self.task_id = task_id
        self.seconds = seconds

    @property
    def id(self) -> str:
        return self.task_id

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds}


class DirectorySource:
    """Offers every task whose worker has not written its ``.done`` file yet."""

    def __init__(self, where: Path, tasks: list[Task]) -> None:
        self.where = where
        self.tasks = tasks
        self.failing = False
        self.calls = 0

    def get_tasks(self) -> Sequence[Task]:
        self.calls += 1
        if self.failing:
            raise TaskSourceError("frontend unreachable")
        return [t for t in self.tasks if not (self.where / f"{t.id}.done").exists()]


class Manager(WorkerManager[Task]):
    def __init__(self, conn: redis.Redis, url: str, where: Path, max_workers: int) -> None:
        super().__init__(conn, "dispatch-test", max_workers=max_workers, lock_dir=where / "locks")
        self.url = url
        self.where = where

    def worker_command(self, worker_id: str, task: Task) -> list[str]:
        return [sys.executable, "-c", WORKER, self.url, self.name, worker_id, str(self.where)]


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    for raw in client.keys("copr:dispatch-test:worker:*"):
        pid = client.hget(raw, "pid")
        if pid and process_start_time(int(pid)) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
    client.close()


def started_at(where: Path, task_id: str) -> float | None:
    path = where / f"{task_id}.started"
    return float(path.read_text()) if path.exists() and path.read_text() else None


def test_run_once_reaps_fetches_and_starts(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    source = DirectorySource(tmp_path, [Task("a"), Task("b")])
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path, 4), sleep_time=0.1)
    report = dispatcher.run_once()
    assert (report.offered, report.started) == (2, ["a", "b"])

    deadline = time.monotonic() + 15
    while not ((tmp_path / "a.done").exists() and (tmp_path / "b.done").exists()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    report = dispatcher.run_once()
    assert sorted(r.worker_id for r in report.reaped.finished) == ["a", "b"]
    assert (report.offered, report.started) == (0, [])


def test_source_failure_is_logged_and_retried(
    conn: redis.Redis, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = DirectorySource(tmp_path, [Task("a")])
    source.failing = True
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path, 1), sleep_time=0.05)
    report = dispatcher.run_once()
    assert report.error == "frontend unreachable"
    assert report.started == []
    assert "the task source is unavailable (getting tasks): frontend unreachable" in caplog.text

    source.failing = False
    assert dispatcher.run_once().started == ["a"]


def test_finished_worker_wakes_the_dispatcher(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    # One slot, a long poll interval: the second task can only start quickly if the first
    # worker's wakeup message ends the dispatcher's sleep.
    source = DirectorySource(tmp_path, [Task("a", seconds=0.3), Task("b")])
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path, 1), sleep_time=60)
    thread = threading.Thread(target=dispatcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while started_at(tmp_path, "b") is None:
            assert time.monotonic() < deadline, "task b never started"
            time.sleep(0.02)
        a_done = (tmp_path / "a.done").stat().st_mtime
        b_started = started_at(tmp_path, "b")
        assert b_started is not None
        assert b_started - a_done < 3.0
    finally:
        dispatcher.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_published_wakeup_starts_new_work_at_once(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    source = DirectorySource(tmp_path, [])
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path, 2), sleep_time=60)
    thread = threading.Thread(target=dispatcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while source.calls == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)  # the dispatcher is asleep now
        source.tasks.append(Task("new"))
        submitted = time.time()
        wakeup_dispatcher(conn, "dispatch-test")
        while started_at(tmp_path, "new") is None:
            assert time.monotonic() < deadline, "the new task never started"
            time.sleep(0.01)
        started = started_at(tmp_path, "new")
        assert started is not None
        assert started - submitted < 2.0
    finally:
        dispatcher.stop()
        thread.join(timeout=5)


def test_max_rounds_and_stop(conn: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    source = DirectorySource(tmp_path, [])
    dispatcher = Dispatcher(source, Manager(conn, redis_url, tmp_path, 1), sleep_time=0.01)
    dispatcher.run(max_rounds=3)
    assert source.calls == 3
    dispatcher.stop()
    dispatcher.run()
    assert source.calls == 3
