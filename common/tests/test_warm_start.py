"""Workers forked by the fork server start as an exec'd worker would (copr_common.warm_start)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from copr_common.testing.polling import wait_for
from copr_common.warm_start import runs_in_process
from copr_common.worker_manager import (
    LOCK_DIR_ENV,
    QueueTask,
    WorkerManager,
    process_start_time,
)

# What the dispatcher holds and no worker may see: a lock held by one of its threads.
HELD = threading.Lock()

# The worker: reports what it sees of its process, then stores a result.
# `python -c PROBE <redis url> <worker id> <dir> <this test module's name>`.
PROBE = """
import gc, sys
warm = "wave" in sys.modules  # imported by nothing but the fork server's preload
# What the server imported is frozen: no collection of the worker walks it.
tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
frozen_preload = warm and id(vars(sys.modules["wave"])) not in tracked and gc.get_freeze_count() > 0
del tracked
import json, logging, os, signal, sys, threading
from pathlib import Path
import redis
from copr_common.worker_manager import WorkerSession
url, worker_id, where, module = sys.argv[1:5]
seen = {
    "argv": sys.argv,
    "cmdline": [part for part in Path("/proc/self/cmdline").read_bytes().decode().split("\\0")
                if part],
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "sid": os.getsid(0),
    "fds": {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")},
    "lock_dir": os.environ.get("COPR_WORKER_LOCK_DIR"),
    "late_variable": os.environ.get("COPR_TEST_LATE"),
    "cwd": os.getcwd(),
    "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
    "sigint_default": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "root_handlers": len(logging.getLogger().handlers),
    "name": __name__,
    "threads": threading.active_count(),
    "main_thread": threading.current_thread() is threading.main_thread()
    and type(threading.current_thread()).__name__ == "_MainThread",
    "dispatcher_module": module in sys.modules,
    "warm": warm,
    "frozen_preload": frozen_preload,
}
logging.getLogger("probe").warning("the worker logs this")
print("the worker prints this", flush=True)
# What crochet (fedora-messaging) does: a thread that waits for the main thread to end.
def watchdog():
    threading.main_thread().join()
    Path(where, worker_id + ".watchdog").write_text("the main thread ended")
threading.Thread(target=watchdog).start()
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
    warm_modules = ("wave",)

    def __init__(self, conn: redis.Redis, url: str, where: Path, **kwargs: Any) -> None:
        super().__init__(conn, "test", max_workers=4, lock_dir=where / "locks", **kwargs)
        self.url = url
        self.where = where
        self.command: list[str] | None = None

    def worker_command(self, worker_id: str, task: Task) -> list[str]:
        if self.command is not None:
            return self.command
        return [sys.executable, "-c", PROBE, self.url, worker_id, str(self.where), __name__]


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_manager(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., ProbeManager]]:
    """Managers whose fork servers end with the test, even one that fails half-way."""
    made: list[ProbeManager] = []

    def make(**kwargs: Any) -> ProbeManager:
        manager = ProbeManager(conn, redis_url, tmp_path, **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def fork_servers() -> list[int]:
    """The fork servers this test process started (its children running warm_start)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and b"copr_common.warm_start" in cmdline:
            found.append(int(entry.name))
    return found


def finished(manager: ProbeManager, task_id: str) -> bool:
    return any(r.worker_id == task_id and r.state == "done" for r in manager.workers())


def test_forked_worker_is_detached_and_starts_like_a_fresh_process(
    make_manager: Callable[..., ProbeManager],
    conn: redis.Redis,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = make_manager(worker_log_dir=tmp_path / "logs")
    manager.warm_up()
    # What the dispatcher has that the worker must not keep: a signal handler, a blocked
    # signal, a log handler, a locked file, a Redis connection in use, a thread holding a
    # lock; and it dispatches from a thread that is not its main one (as the tests do).
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    parent_log = tmp_path / "dispatcher.log"
    handler = logging.FileHandler(parent_log)
    logging.getLogger().addHandler(handler)
    lock_fd = os.open(tmp_path / "dispatcher.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    conn.ping()
    release = threading.Event()
    holder = threading.Thread(target=lambda: (HELD.acquire(), release.wait(), HELD.release()))
    holder.start()
    # Set after the fork server started: the worker has the dispatcher's environment of now.
    monkeypatch.setenv("COPR_TEST_LATE", "set late")
    monkeypatch.chdir(tmp_path)
    started: list[str] = []
    try:
        dispatching = threading.Thread(target=lambda: started.extend(manager.dispatch([Task("a")])))
        dispatching.start()
        dispatching.join()
    finally:
        release.set()
        holder.join()
        signal.signal(signal.SIGTERM, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert started == ["a"]
    wait_for(lambda: finished(manager, "a"), what="the worker to finish")
    seen = json.loads((tmp_path / "a.json").read_text())

    assert seen["sid"] == seen["pid"]  # it leads its own session
    assert seen["ppid"] != os.getpid()  # and is not our child
    assert seen["name"] == "__main__"
    assert seen["argv"] == ["-c", redis_url, "a", str(tmp_path), __name__]
    # ps and pgrep -f see the worker command, not the fork server's.
    assert seen["cmdline"] == manager.worker_command("a", Task("a"))
    assert seen["lock_dir"] == str(tmp_path / "locks")
    assert seen["late_variable"] == "set late"
    assert seen["cwd"] == str(tmp_path)
    assert seen["sigterm_default"]
    assert seen["sigint_default"]
    assert seen["mask"] == []
    assert seen["root_handlers"] == 0
    # One thread, the main one, and nothing of the dispatcher's modules (or their locks).
    assert seen["threads"] == 1
    assert seen["main_thread"]
    assert not seen["dispatcher_module"]
    # And it was forked, not exec'd: the fork server's imports were there before its own.
    assert seen["warm"]
    assert seen["frozen_preload"]
    # stdin is /dev/null, stdout and stderr its log; nothing else is open but /dev/null.
    log = str(tmp_path / "logs" / "test-worker-a.log")
    fds = seen["fds"]
    assert (fds.pop("0"), fds.pop("1"), fds.pop("2")) == (os.devnull, log, log)
    assert set(fds.values()) <= {os.devnull}
    assert conn.ping()
    # Our lock is ours only: once we let go, anybody can take it (the worker kept none).
    os.close(lock_fd)
    other = os.open(tmp_path / "dispatcher.lock", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)
    # It ended as an interpreter does: its main thread stopped, then its other threads.
    wait_for((tmp_path / "a.watchdog").exists, what="the worker's own thread to see it end")
    # Its output is in its own log file, not in the dispatcher's.
    output = (tmp_path / "logs" / "test-worker-a.log").read_text()
    assert "the worker prints this" in output
    assert "the worker logs this" in output
    assert "the worker logs this" not in parent_log.read_text()
    assert [r.worker_id for r in manager.reap().finished] == ["a"]
    manager.close()


def test_forked_worker_runs_a_module_as_main(
    make_manager: Callable[..., ProbeManager], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "entry.py").write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        "if __name__ == '__main__':\n"
        "    partial = Path(sys.argv[2] + '.partial')\n"
        "    partial.write_text(json.dumps(sys.argv))\n"
        "    partial.rename(sys.argv[2])\n"
        "    raise SystemExit(3)\n"
    )
    # The fork server is a fresh interpreter: it finds the module where python would.
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    manager = make_manager()
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
    manager.close()


def test_commands_that_cannot_run_in_process_are_executed(tmp_path: Path) -> None:
    assert runs_in_process([sys.executable, "-c", "pass"])
    assert runs_in_process([sys.executable, "-m", "json.tool"])
    assert not runs_in_process(["/usr/bin/env", "-c", "pass"])
    assert not runs_in_process([sys.executable, "script.py"])
    assert not runs_in_process([sys.executable, "-m"])
    assert not runs_in_process([sys.executable])


def test_a_dead_fork_server_is_replaced_and_a_closed_one_ends(
    make_manager: Callable[..., ProbeManager], tmp_path: Path
) -> None:
    manager = make_manager()
    manager.warm_up()
    wait_for(lambda: len(fork_servers()) == 1, what="the fork server")
    [server] = fork_servers()
    os.kill(server, signal.SIGKILL)
    # The next worker is started all the same, by a new server.
    assert manager.dispatch([Task("b")]) == ["b"]
    wait_for(lambda: finished(manager, "b"), what="the worker to finish")
    assert json.loads((tmp_path / "b.json").read_text())["main_thread"]
    [replacement] = fork_servers()
    assert replacement != server
    manager.close()
    assert fork_servers() == []


def test_unimportable_module_is_reported_like_a_failed_exec(
    make_manager: Callable[..., ProbeManager], tmp_path: Path
) -> None:
    manager = make_manager(worker_log_dir=tmp_path / "logs")
    manager.command = [sys.executable, "-m", "no_such_module_here"]
    manager.start_timeout = 0.5
    assert manager.dispatch([Task("x")]) == ["x"]
    log = tmp_path / "logs" / "test-worker-x.log"
    wait_for(lambda: log.exists() and "No module named" in log.read_text(), what="the error")
    time.sleep(0.6)
    assert [r.worker_id for r, _ in manager.reap().died] == ["x"]
    assert manager.workers() == []
    manager.close()


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
    make_manager: Callable[..., ProbeManager], redis_url: str, tmp_path: Path
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
        manager = make_manager()
        wait_for(lambda: any(r.state == "running" for r in manager.workers()), what="running")
        record = manager.workers()[0]
        assert record.pid is not None
        # As ops find a worker: by its command line.
        found = subprocess.run(
            ["pgrep", "-f", f"{redis_url} a {tmp_path}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert found.stdout.split() == [str(record.pid)]
        dispatcher.kill()
        dispatcher.wait()
        time.sleep(0.2)
        assert process_start_time(record.pid) == record.pid_start
        (tmp_path / "go").touch()
        wait_for(lambda: finished(manager, "a"), what="the worker to finish")
        assert [r.result for r in manager.reap().finished] == [{"survived": True}]
