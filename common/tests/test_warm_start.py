"""Workers forked from a warm manager keep what an exec'd worker had (copr_common.warm_start)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from copr_common.warm_start import in_process_entry
from copr_common.worker_manager import (
    LOCK_DIR_ENV,
    QueueTask,
    WorkerManager,
    process_start_time,
)

# A client of the manager's, reachable from the forked worker through this module.
SHARED: redis.Redis | None = None

# The worker: reports what it sees of its process, then stores a result.
# `python -c PROBE <redis url> <worker id> <dir> <this test module's name>`.
PROBE = """
import json, logging, os, signal, sys
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerSession
url, worker_id, where, module = sys.argv[1:5]
seen = {
    "argv": sys.argv,
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "sid": os.getsid(0),
    "fds": {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")},
    "lock_dir": os.environ.get("COPR_WORKER_LOCK_DIR"),
    "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
    "sigint_default": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "root_handlers": len(logging.getLogger().handlers),
    "name": __name__,
}
shared = sys.modules[module].SHARED
shared.set("copr:test:probe", "from the worker")
seen["shared_get"] = shared.get("copr:test:probe").decode()
logging.getLogger("probe").warning("the worker logs this")
print("the worker prints this", flush=True)
Path(where, worker_id + ".json").write_text(json.dumps(seen))
with WorkerSession(redis.Redis.from_url(url), "test", worker_id) as session:
    session.result = {"ok": True}
"""


class Task(QueueTask):
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id

    @property
    def id(self) -> str:
        return self.task_id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.task_id}


class ProbeManager(WorkerManager[Task]):
    def __init__(self, conn: redis.Redis, url: str, where: Path, **kwargs: Any) -> None:
        super().__init__(conn, "test", max_workers=4, lock_dir=where / "locks", **kwargs)
        self.url = url
        self.where = where
        self.command: list[str] | None = None

    def worker_command(self, worker_id: str, task: Task) -> list[str]:
        if self.command is not None:
            return self.command
        return [sys.executable, "-c", PROBE, self.url, worker_id, str(self.where), __name__]


def wait_for(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    global SHARED
    client = redis.Redis.from_url(redis_url)
    SHARED = client
    yield client
    SHARED = None
    client.close()


def finished(manager: ProbeManager, task_id: str) -> bool:
    return any(r.worker_id == task_id and r.state == "done" for r in manager.workers())


def test_forked_worker_is_detached_and_starts_like_a_fresh_process(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    manager = ProbeManager(conn, redis_url, tmp_path, worker_log_dir=tmp_path / "logs")
    # What the dispatcher has that the worker must not keep: a signal handler, a blocked
    # signal, a log handler, a locked file and a Redis connection in use.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    parent_log = tmp_path / "dispatcher.log"
    handler = logging.FileHandler(parent_log)
    logging.getLogger().addHandler(handler)
    lock_fd = os.open(tmp_path / "dispatcher.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    conn.ping()
    try:
        assert manager.dispatch([Task("a")]) == ["a"]
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        logging.getLogger().removeHandler(handler)
        handler.close()
    wait_for(lambda: finished(manager, "a"), what="the worker to finish")
    seen = json.loads((tmp_path / "a.json").read_text())

    assert seen["sid"] == seen["pid"]  # it leads its own session
    assert seen["ppid"] != os.getpid()  # and is not our child
    assert seen["name"] == "__main__"
    assert seen["argv"] == ["-c", redis_url, "a", str(tmp_path), __name__]
    assert seen["lock_dir"] == str(tmp_path / "locks")
    assert seen["sigterm_default"]
    assert seen["sigint_default"]
    assert seen["mask"] == []
    assert seen["root_handlers"] == 0
    # stdin is /dev/null, stdout and stderr its log; what else it inherited points to
    # /dev/null.
    log = str(tmp_path / "logs" / "test-worker-a.log")
    fds = seen["fds"]
    assert (fds.pop("0"), fds.pop("1"), fds.pop("2")) == (os.devnull, log, log)
    assert set(fds.values()) <= {os.devnull}
    # The worker did not talk on our connection: ours still works, its own worked too.
    assert seen["shared_get"] == "from the worker"
    assert conn.ping()
    # Our lock is ours only: once we let go, anybody can take it (the worker kept none).
    os.close(lock_fd)
    other = os.open(tmp_path / "dispatcher.lock", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)
    # Its output is in its own log file, not in the dispatcher's.
    output = (tmp_path / "logs" / "test-worker-a.log").read_text()
    assert "the worker prints this" in output
    assert "the worker logs this" in output
    assert "the worker logs this" not in parent_log.read_text()
    assert [r.worker_id for r in manager.reap().finished] == ["a"]


def test_forked_worker_runs_a_module_as_main(
    conn: redis.Redis, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "entry.py").write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        "if __name__ == '__main__':\n"
        "    Path(sys.argv[2]).write_text(json.dumps(sys.argv))\n"
        "    raise SystemExit(3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = ProbeManager(conn, redis_url, tmp_path)
    out = tmp_path / "argv.json"
    manager.command = [sys.executable, "-m", "probe_pkg.entry", "--flag", str(out)]
    manager.start_timeout = 0.5
    assert manager.dispatch([Task("m")]) == ["m"]
    wait_for(out.exists, what="the module to run")
    argv = json.loads(out.read_text())
    assert argv == [str(package / "entry.py"), "--flag", str(out)]
    # It never announced itself: given up on like any worker that did not start.
    time.sleep(0.6)
    assert [r.worker_id for r, _ in manager.reap().died] == ["m"]


def test_commands_that_cannot_run_in_process_are_executed(tmp_path: Path) -> None:
    assert in_process_entry([sys.executable, "-c", "pass"]) == ("-c", "pass", [])
    assert in_process_entry(["/usr/bin/env", "-c", "pass"]) is None
    assert in_process_entry([sys.executable, "-m", "no_such_module_here"]) is None
    assert in_process_entry([sys.executable, "script.py"]) is None
    assert in_process_entry([sys.executable]) is None


def test_unimportable_module_is_reported_like_a_failed_exec(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    manager = ProbeManager(conn, redis_url, tmp_path, worker_log_dir=tmp_path / "logs")
    manager.command = [sys.executable, "-m", "no_such_module_here"]
    manager.start_timeout = 0.5
    assert manager.dispatch([Task("x")]) == ["x"]
    log = tmp_path / "logs" / "test-worker-x.log"
    wait_for(lambda: log.exists() and "No module named" in log.read_text(), what="the error")
    time.sleep(0.6)
    assert [r.worker_id for r, _ in manager.reap().died] == ["x"]
    assert manager.workers() == []


# A dispatcher of its own: starts a worker that waits for a gate file, then is killed.
DISPATCHER = """
import sys
from pathlib import Path
import redis
sys.path.insert(0, sys.argv[3])
from test_warm_start import ProbeManager, Task
url, where = sys.argv[1], Path(sys.argv[2])
manager = ProbeManager(redis.Redis.from_url(url), url, where)
manager.command = [sys.executable, "-c", GATED, url, "a", str(where)]
manager.dispatch([Task("a")])
print("started", flush=True)
sys.stdin.read()
"""

GATED = """
import os, sys, time
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerSession
url, worker_id, where = sys.argv[1:4]
with WorkerSession(redis.Redis.from_url(url), "test", worker_id) as session:
    while not Path(where, "go").exists():
        time.sleep(0.02)
    session.result = {"survived": True}
"""


def test_forked_worker_survives_its_dispatcher(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    code = DISPATCHER.replace("GATED", repr(GATED))
    here = str(Path(__file__).parent)
    with subprocess.Popen(
        [sys.executable, "-c", code, redis_url, str(tmp_path), here],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, LOCK_DIR_ENV: ""},
    ) as dispatcher:
        assert dispatcher.stdout is not None
        assert dispatcher.stdout.readline() == b"started\n"
        manager = ProbeManager(conn, redis_url, tmp_path)
        wait_for(lambda: any(r.state == "running" for r in manager.workers()), what="running")
        record = manager.workers()[0]
        assert record.pid is not None
        dispatcher.kill()
        dispatcher.wait()
        time.sleep(0.2)
        assert process_start_time(record.pid) == record.pid_start
        (tmp_path / "go").touch()
        wait_for(lambda: finished(manager, "a"), what="the worker to finish")
        assert [r.result for r in manager.reap().finished] == [{"survived": True}]
