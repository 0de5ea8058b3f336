"""WorkerManager against a real Redis, with real detached worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from copr_common.testing.polling import wait_for
from copr_common.worker_manager import (
    QueueTask,
    WorkerManager,
    WorkerRecord,
    WorkerSession,
    WorkerSessionError,
    process_start_time,
)

# The worker: announce itself, wait until its gate file exists (or act out a failure),
# then store a result.  Run as `python -c WORKER <redis url> <name> <worker id> <dir>`.
WORKER = """
import os, sys, time
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerSession
url, name, worker_id, where = sys.argv[1:5]
task_dir = Path(where)
conn = redis.Redis.from_url(url)
with WorkerSession(conn, name, worker_id) as session:
    behaviour = session.task["behaviour"]
    (task_dir / f"{worker_id}.started").write_text(str(os.getpid()))
    if behaviour == "crash":
        raise RuntimeError("the worker broke")
    if behaviour == "child":
        import subprocess
        child = subprocess.Popen(["sleep", "300"])
        (task_dir / f"{worker_id}.child").write_text(str(child.pid))
    while not (task_dir / f"{worker_id}.go").exists():
        time.sleep(0.02)
    session.result = {"answer": session.task["value"] * 2}
"""


class Task(QueueTask):
    def __init__(self, task_id: str, value: int = 1, prio: int = 0, behaviour: str = "ok"):
        self.task_id = task_id
        self.value = value
        self.prio = prio
        self.behaviour = behaviour

    @property
    def id(self) -> str:
        return self.task_id

    @property
    def priority(self) -> int:
        return self.prio

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.task_id, "value": self.value, "behaviour": self.behaviour}


class ScriptManager(WorkerManager[Task]):
    def __init__(self, conn: redis.Redis, url: str, where: Path, **kwargs: Any) -> None:
        kwargs.setdefault("max_workers", 4)
        kwargs.setdefault("lock_dir", where / "locks")
        super().__init__(conn, "test", **kwargs)
        self.url = url
        self.where = where
        self.refuse: set[str] = set()

    def worker_command(self, worker_id: str, task: Task) -> list[str]:
        if task.behaviour == "silent":
            # Exits without ever announcing itself.
            return [sys.executable, "-c", "pass"]
        return [sys.executable, "-c", WORKER, self.url, self.name, worker_id, str(self.where)]

    def may_start(self, task: Task, running: Sequence[WorkerRecord]) -> bool:
        return task.id not in self.refuse


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_manager(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., ScriptManager]]:
    managers: list[ScriptManager] = []

    def make(**kwargs: Any) -> ScriptManager:
        manager = ScriptManager(conn, redis_url, tmp_path, **kwargs)
        managers.append(manager)
        return manager

    yield make
    # Workers are not our children: end whatever a test left running.
    for record in managers[0].workers() if managers else []:
        if record.pid and process_start_time(record.pid) == record.pid_start:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(record.pid, signal.SIGKILL)


def release(where: Path, task_id: str) -> None:
    (where / f"{task_id}.go").touch()


def running(manager: ScriptManager, task_id: str) -> bool:
    return any(r.worker_id == task_id and r.state == "running" for r in manager.workers())


def test_worker_runs_and_its_result_is_reaped(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager()
    assert manager.dispatch([Task("a", value=21)]) == ["a"]
    wait_for(lambda: running(manager, "a"), what="worker a to announce itself")
    record = manager.workers()[0]
    assert record.pid is not None
    assert record.task == {"id": "a", "value": 21, "behaviour": "ok"}
    assert manager.reap().finished == []

    release(tmp_path, "a")
    wait_for(lambda: manager.workers()[0].state == "done", what="worker a to finish")
    report = manager.reap()
    assert [r.result for r in report.finished] == [{"answer": 42}]
    assert manager.workers() == []


def test_concurrency_limit_and_priority(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager(max_workers=2)
    tasks = [Task("low", prio=5), Task("first", prio=0), Task("second", prio=0), Task("x", prio=9)]
    assert manager.dispatch(tasks) == ["first", "second"]
    assert manager.dispatch(tasks) == []

    release(tmp_path, "first")
    wait_for(lambda: manager.reap().finished != [], what="the first worker to finish")
    # The source no longer offers a finished task.
    assert manager.dispatch([t for t in tasks if t.id != "first"]) == ["low"]
    for task_id in ("second", "low"):
        release(tmp_path, task_id)


def test_a_held_task_is_never_started_twice(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager()
    assert manager.dispatch([Task("a")]) == ["a"]
    # Held while still starting, and while running; by this manager or by a second one.
    assert manager.dispatch([Task("a")]) == []
    wait_for(lambda: running(manager, "a"))
    other = make_manager()
    assert other.dispatch([Task("a"), Task("a")]) == []
    wait_for(lambda: (tmp_path / "a.started").exists(), what="worker a to start its work")
    assert len(list(tmp_path.glob("a.started"))) == 1
    release(tmp_path, "a")


def test_may_start_refusal_leaves_the_task_for_later(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager()
    manager.refuse.add("a")
    assert manager.dispatch([Task("a"), Task("b")]) == ["b"]
    manager.refuse.clear()
    assert manager.dispatch([Task("a"), Task("b")]) == ["a"]
    release(tmp_path, "a")
    release(tmp_path, "b")


def test_restarted_manager_adopts_live_workers(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    first = make_manager()
    first.dispatch([Task("a", value=1), Task("b", value=2)])
    wait_for(lambda: running(first, "a") and running(first, "b"))
    # The dispatcher "restarts": nothing of the first manager is used from here on; only
    # Redis and the worker processes remain.

    second = make_manager()
    report = second.reap()
    assert report.died == []
    assert report.finished == []
    assert second.dispatch([Task("a"), Task("b")]) == []
    release(tmp_path, "a")
    release(tmp_path, "b")
    wait_for(lambda: all(r.state == "done" for r in second.workers()))
    results = sorted(r.result["answer"] for r in second.reap().finished if r.result)
    assert results == [2, 4]


def test_killed_worker_has_its_task_dispatched_again(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager()
    manager.dispatch([Task("a")])
    wait_for(lambda: running(manager, "a"))
    pid = manager.workers()[0].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: process_start_time(pid) is None, what="the killed worker to vanish")

    report = manager.reap()
    assert [(r.worker_id, reason) for r, reason in report.died] == [
        ("a", f"process {pid} is no longer running")
    ]
    assert manager.dispatch([Task("a")]) == ["a"]
    wait_for(lambda: running(manager, "a"))
    assert manager.workers()[0].pid != pid
    release(tmp_path, "a")


def test_what_a_killed_worker_started_is_ended_with_it(
    make_manager: Callable[..., ScriptManager], tmp_path: Path
) -> None:
    manager = make_manager()
    manager.dispatch([Task("a", behaviour="child")])
    child_file = tmp_path / "a.child"
    wait_for(lambda: child_file.exists() and child_file.read_text() != "", what="the child")
    child = int(child_file.read_text())
    worker = manager.workers()[0].pid
    assert worker is not None
    os.kill(worker, signal.SIGKILL)  # the worker alone, as a crash would
    wait_for(lambda: process_start_time(worker) is None, what="the worker to vanish")
    assert process_start_time(child) is not None
    assert [r.worker_id for r, _ in manager.reap().died] == ["a"]
    wait_for(lambda: process_start_time(child) is None, what="the orphaned child to be ended")


def test_worker_that_never_announces_itself_is_given_up(
    make_manager: Callable[..., ScriptManager],
) -> None:
    manager = make_manager(start_timeout=0.5)
    assert manager.dispatch([Task("quiet", behaviour="silent")]) == ["quiet"]
    assert manager.reap().died == []
    time.sleep(0.6)
    died = manager.reap().died
    assert [reason for _, reason in died] == ["it did not start within 0.5 s"]
    assert not manager.is_held("quiet")


def test_worker_past_its_deadline_is_killed(
    make_manager: Callable[..., ScriptManager],
) -> None:
    manager = make_manager(worker_timeout=1.0)
    manager.dispatch([Task("slow")])
    wait_for(lambda: running(manager, "slow"))
    pid = manager.workers()[0].pid
    assert pid is not None
    time.sleep(1.1)
    died = manager.reap().died
    assert [reason for _, reason in died] == ["it ran longer than 1 s and was killed"]
    assert process_start_time(pid) is None


def test_crashing_worker_finishes_with_its_error(
    make_manager: Callable[..., ScriptManager],
) -> None:
    manager = make_manager()
    manager.dispatch([Task("bad", behaviour="crash")])
    wait_for(lambda: any(r.state == "done" for r in manager.workers()))
    finished = manager.reap().finished
    assert [r.result for r in finished] == [{"error": "RuntimeError: the worker broke"}]


def test_worker_without_a_record_refuses_to_run(conn: redis.Redis) -> None:
    session = WorkerSession(conn, "test", "nobody")
    with pytest.raises(WorkerSessionError, match="not expected"):
        session.start()
    assert conn.keys("copr:test:*") == []


def test_unstartable_worker_releases_its_task(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    class Broken(ScriptManager):
        def worker_command(self, worker_id: str, task: Task) -> list[str]:
            return [str(tmp_path / "no-such-program")]

    manager = Broken(conn, redis_url, tmp_path)
    # setsid itself starts; the missing program fails in the forked child, so the record
    # stays "starting" until the start timeout gives it up.
    manager.start_timeout = 0.2
    manager.dispatch([Task("a")])
    time.sleep(0.3)
    assert [r.worker_id for r, _ in manager.reap().died] == ["a"]
    assert manager.workers() == []


def test_max_workers_must_be_positive(conn: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        ScriptManager(conn, redis_url, tmp_path, max_workers=0)
