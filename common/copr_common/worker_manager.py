"""One detached worker process per task, tracked in Redis so workers outlive their dispatcher.

A :class:`WorkerManager` starts a worker for a task and records it in Redis under the task's
id: a hash ``copr:<name>:worker:<task id>`` listed in the set ``copr:<name>:workers``.  The
worker runs in a session of its own (``setsid --fork``, or, for a Python worker of the
manager's own interpreter, a fork of a clean process with its imports already done: see
:mod:`copr_common.warm_start`), so it is not the dispatcher's child: a dispatcher that
stops, crashes or is killed leaves its workers running, and the next one finds them in
Redis and adopts them.

A record goes through three states:

``starting``  written by the manager just before the process is spawned;
``running``   the worker has announced itself with its pid (:class:`WorkerSession`);
``done``      the worker has finished and stored its result.

On every :meth:`WorkerManager.reap` the manager drops ``done`` records and those of workers
that died (process gone, a zombie, or its pid reused by another process), that never
announced themselves within ``start_timeout``, or that ran past ``worker_timeout`` (those
are killed first).  The task of a dropped record is then free: if its source still lists
it, the next :meth:`WorkerManager.dispatch` starts it again.  A task whose record exists is
never started a second time, and record creation is atomic in Redis, so two managers
cannot both start one task.

Liveness is judged from ``/proc``, so the workers of one manager run on its host.  Remote
work (a build on a leased builder) is driven by a local worker that re-attaches to it.

Redis is bookkeeping, not the truth: it may restart empty at any moment.  What keeps a
task from running twice on this host is a lock file per task (``<lock dir>/<name>/<task
id>.lock``, an ``flock`` its worker holds for as long as it lives, released by the kernel
when it dies).  A worker whose task's lock is held by a live worker does nothing but hand
its record over to that worker (so the manager tracks the one that really works) and
exits.  A running worker also checks its record every few seconds and writes it again
when Redis lost it, so a manager soon sees the truth again after a Redis restart.  Redis
errors never end a worker's work: its result goes to the task's source first, the record
only follows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Generic, TypeVar

from redis import Redis
from redis.exceptions import RedisError

from copr_common.files import lock_file
from copr_common.log import LOG_FILE_MODE
from copr_common.redis_keys import index_key as _index_key
from copr_common.redis_keys import record_key as _record_key
from copr_common.redis_keys import wakeup_channel
from copr_common.warm_start import WarmStarter

__all__ = [
    "QueueTask",
    "ReapReport",
    "TaskLock",
    "WorkerAlreadyRunning",
    "WorkerManager",
    "WorkerRecord",
    "WorkerSession",
    "WorkerSessionError",
    "default_lock_dir",
    "process_start_time",
    "wakeup_channel",
    "wakeup_dispatcher",
]

STARTING = "starting"
RUNNING = "running"
DONE = "done"

# Workers learn their manager's lock dir from the environment the manager starts them in.
LOCK_DIR_ENV = "COPR_WORKER_LOCK_DIR"
# How often a running worker checks that Redis still has its record.
HEARTBEAT_SECONDS = 2.0


def wakeup_dispatcher(redis: Redis, name: str) -> None:
    """Tell the dispatcher of ``name`` to look for tasks now instead of after its sleep."""
    redis.publish(wakeup_channel(name), "wakeup")


class QueueTask(ABC):
    """A unit of work a dispatcher hands to a worker process."""

    @property
    @abstractmethod
    def id(self) -> str:
        """Unique among the manager's tasks; also the worker's id."""

    @property
    def priority(self) -> int:
        """Lower runs first; tasks of equal priority keep the order of their source."""
        return 0

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-able data stored with the worker record, for the worker to read."""


TaskT = TypeVar("TaskT", bound=QueueTask)


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of a live process, None if gone or a zombie.

    Recorded next to a pid so that a pid the kernel later reuses for another process is
    not mistaken for the worker.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    state, starttime = fields[0], fields[19]
    if state in ("Z", "X", "x"):
        return None
    return int(starttime)


def _session_members(sid: int) -> list[int]:
    """The live processes of session ``sid`` (a worker leads its own, see ``_spawn``)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is the state, [3] the session id.
        if int(fields[3]) == sid and fields[0] not in ("Z", "X", "x"):
            members.append(int(entry.name))
    return members


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class WorkerRecord:
    """What Redis holds about one worker."""

    worker_id: str
    task: dict[str, Any]
    state: str
    created: float
    host: str
    pid: int | None = None
    pid_start: int | None = None
    started: float | None = None
    result: dict[str, Any] | None = None

    @classmethod
    def from_redis(cls, worker_id: str, raw: Mapping[Any, Any]) -> WorkerRecord:
        data = {_text(key): _text(value) for key, value in raw.items()}

        def number(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        return cls(
            worker_id=worker_id,
            task=json.loads(data.get("task") or "{}"),
            state=data.get("state", STARTING),
            created=float(data.get("created") or 0),
            host=data.get("host", ""),
            pid=number("pid"),
            pid_start=number("pid_start"),
            started=float(data["started"]) if data.get("started") else None,
            result=json.loads(data["result"]) if data.get("result") else None,
        )


@dataclass
class ReapReport:
    """What one :meth:`WorkerManager.reap` found: finished and dead workers, and why."""

    finished: list[WorkerRecord] = field(default_factory=list)
    died: list[tuple[WorkerRecord, str]] = field(default_factory=list)


# Creates the record only if the worker id is free: the single place where a task is
# claimed, so two managers (or a manager racing a late worker) can never both own it.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# A worker announces itself only while its record still says "starting": a manager that
# already gave up on it (start timeout) has deleted the record, and the late worker must
# then not resurrect it.
_ANNOUNCE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'starting' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# Only the worker the record names finishes it: a worker that lost its record to a Redis
# restart must not mark the record of the worker that took the task over.
_FINISH = """
if redis.call('HGET', KEYS[1], 'pid') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""

# A running worker whose record Redis lost writes it again (only while none exists).
_REREGISTER = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# A worker that finds its task run by another live worker gives the record to that one.
_HAND_OVER = """
if redis.call('HGET', KEYS[1], 'state') ~= 'starting' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


def default_lock_dir() -> Path:
    """Where task locks live when no lock dir is configured: private to this user."""
    path = Path(tempfile.gettempdir()) / f"copr-worker-locks-{os.geteuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if info.st_uid != os.geteuid() or not path.is_dir() or path.is_symlink():
        raise RuntimeError(f"{path} is not a directory of this user: cannot keep task locks")
    return path


class TaskLock:
    """The lock that makes one live worker per task on this host: ``flock`` on a file.

    The holder writes its pid (and the process' start time) into the file, so others can
    tell who holds it without touching the lock; the holder unlinks it as it lets go, and
    the pid of a holder that died is seen dead.
    """

    def __init__(self, lock_dir: Path, name: str, worker_id: str) -> None:
        safe = worker_id.replace("/", "_")
        self.path = lock_dir / name / f"{safe}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when taken; False when a live process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The holder unlinks the file as it lets go (lock_file takes the new one then).
        fd = lock_file(self.path)
        if fd is None:
            return False
        os.ftruncate(fd, 0)
        pid = os.getpid()
        os.write(fd, f"{pid} {process_start_time(pid)}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> tuple[int, int] | None:
        """(pid, start time) of the live process holding the lock; None when nobody does."""
        try:
            fields = self.path.read_text().split()
        except OSError:
            return None
        if len(fields) != 2 or not all(field.isdigit() for field in fields):
            return None
        pid, start = int(fields[0]), int(fields[1])
        if process_start_time(pid) != start:
            return None
        return pid, start

    def release(self) -> None:
        if self._fd is not None:
            # Unlinked while still held, so the lock files do not pile up (see acquire).
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


class WorkerManager(ABC, Generic[TaskT]):
    """Starts, tracks and reaps the worker processes of one kind of task.

    Subclasses say how to run a worker (:meth:`worker_command`) and may refuse to start a
    task for now (:meth:`may_start`, e.g. per-owner limits); the rest is generic.
    ``warm_modules`` are the modules its workers run (``python -m``), imported ahead by
    the fork server that starts them (:meth:`warm_up`).
    """

    warm_modules: tuple[str, ...] = ()

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        max_workers: int,
        start_timeout: float = 60.0,
        worker_timeout: float | None = None,
        worker_log_dir: str | os.PathLike[str] | None = None,
        lock_dir: str | os.PathLike[str] | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.redis = redis
        self.name = name
        self.max_workers = max_workers
        self.start_timeout = start_timeout
        self.worker_timeout = worker_timeout
        self.worker_log_dir = Path(worker_log_dir) if worker_log_dir is not None else None
        # Where the workers keep their task locks (see the module docstring).
        self.lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
        self.log = log or logging.getLogger(f"copr_common.worker_manager.{name}")
        self.host = socket.gethostname()
        self._claim = redis.register_script(_CLAIM)
        self._warm = WarmStarter(name, preload=self.warm_modules)

    # --- what subclasses provide --------------------------------------------------------

    @abstractmethod
    def worker_command(self, worker_id: str, task: TaskT) -> list[str]:
        """The command that runs the worker; it must use :class:`WorkerSession`."""

    def may_start(self, task: TaskT, running: Sequence[WorkerRecord]) -> bool:
        """False to leave ``task`` for a later round (``running`` includes earlier starts)."""
        return True

    def on_finished(self, record: WorkerRecord) -> None:
        """Called once for each worker that finished, before its record is dropped."""
        self.log.info("worker %s finished: %s", record.worker_id, record.result)

    def on_died(self, record: WorkerRecord, reason: str) -> None:
        """Called once for each worker that died or was given up on."""
        self.log.warning("worker %s is gone (%s); its task may run again", record.worker_id, reason)

    # --- tracking -------------------------------------------------------------------------

    def workers(self) -> list[WorkerRecord]:
        """Every worker record in Redis, in no particular order."""
        records = []
        for raw_id in self.redis.smembers(_index_key(self.name)):
            worker_id = _text(raw_id)
            raw = self.redis.hgetall(_record_key(self.name, worker_id))
            if not raw:
                self.redis.srem(_index_key(self.name), worker_id)
                continue
            records.append(WorkerRecord.from_redis(worker_id, raw))
        return records

    def is_held(self, worker_id: str) -> bool:
        """Whether a worker has the task: a record, or a live worker holding its lock."""
        if self.redis.exists(_record_key(self.name, worker_id)):
            return True
        return self.task_lock(worker_id).holder() is not None

    def task_lock(self, worker_id: str) -> TaskLock:
        return TaskLock(self.lock_dir, self.name, worker_id)

    def _adopt(self, task: TaskT) -> WorkerRecord | None:
        """A record for the live worker that holds ``task``'s lock, when Redis lost its own."""
        holder = self.task_lock(task.id).holder()
        if holder is None:
            return None
        pid, pid_start = holder
        now = time.time()
        record = WorkerRecord(task.id, task.to_dict(), RUNNING, now, self.host, pid, pid_start, now)
        fields = {
            "task": json.dumps(record.task),
            "state": RUNNING,
            "created": repr(now),
            "host": self.host,
            "pid": str(pid),
            "pid_start": str(pid_start),
            "started": repr(now),
        }
        args: list[str] = [task.id]
        for key, value in fields.items():
            args += [key, value]
        if not self._claim(
            keys=[_record_key(self.name, task.id), _index_key(self.name)], args=args
        ):
            return None
        self.log.warning(
            "task %s is run by worker %d, which Redis had lost: tracking it again", task.id, pid
        )
        return record

    def _drop(self, worker_id: str) -> None:
        pipe = self.redis.pipeline()
        pipe.delete(_record_key(self.name, worker_id))
        pipe.srem(_index_key(self.name), worker_id)
        pipe.execute()

    def _why_dead(self, record: WorkerRecord, now: float) -> str | None:
        if record.host != self.host:
            # Another host's processes cannot be seen from here; only a deadline ends them.
            return None
        if record.pid is None:
            if now - record.created > self.start_timeout:
                return f"it did not start within {self.start_timeout:g} s"
            return None
        if process_start_time(record.pid) != record.pid_start:
            return f"process {record.pid} is no longer running"
        return None

    def _kill(self, record: WorkerRecord) -> None:
        if record.pid is None or record.host != self.host:
            return
        if process_start_time(record.pid) != record.pid_start:
            return
        # Each worker leads its own session and process group: take its children too.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, sig)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if process_start_time(record.pid) != record.pid_start:
                    return
                time.sleep(0.05)

    def reap(self) -> ReapReport:
        """Drop the records of finished and dead workers (killing those past their deadline)."""
        report = ReapReport()
        now = time.time()
        for record in self.workers():
            if record.state == DONE:
                self.on_finished(record)
                self._drop(record.worker_id)
                report.finished.append(record)
                continue
            reason = self._why_dead(record, now)
            timeout = self.worker_timeout
            if reason is None and timeout is not None and now - record.created > timeout:
                self._kill(record)
                reason = f"it ran longer than {timeout:g} s and was killed"
            if reason is not None:
                self._kill_leftovers(record)
                self.on_died(record, reason)
                self._drop(record.worker_id)
                report.died.append((record, reason))
        return report

    def _kill_leftovers(self, record: WorkerRecord) -> None:
        """End what a dead worker started in its session (a signing run, a log follower):
        left running, it could still change what the task's next worker does.
        """
        if record.pid is None or record.host != self.host:
            return
        for pid in _session_members(record.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    # --- starting -------------------------------------------------------------------------

    def dispatch(self, tasks: Iterable[TaskT]) -> list[str]:
        """Start workers for ``tasks`` in priority order while there is room; their ids.

        Tasks held by a worker (in any state) are skipped, as are those
        :meth:`may_start` refuses.  Call :meth:`reap` first, and pass a fresh task list:
        a finished worker's task must not come back from a list fetched before it ended.
        """
        running = self.workers()
        held = {record.worker_id for record in running}
        started: list[str] = []
        ordered = sorted(enumerate(tasks), key=lambda pair: (pair[1].priority, pair[0]))
        for _, task in ordered:
            if len(running) >= self.max_workers:
                break
            if task.id in held:
                continue
            adopted = self._adopt(task)
            if adopted is not None:
                running.append(adopted)
                held.add(task.id)
                continue
            if not self.may_start(task, running):
                continue
            record = self._start(task)
            if record is None:
                continue
            running.append(record)
            held.add(task.id)
            started.append(task.id)
        return started

    def _start(self, task: TaskT) -> WorkerRecord | None:
        worker_id = task.id
        record = WorkerRecord(
            worker_id=worker_id,
            task=task.to_dict(),
            state=STARTING,
            created=time.time(),
            host=self.host,
        )
        fields = {
            "task": json.dumps(record.task),
            "state": STARTING,
            "created": repr(record.created),
            "host": self.host,
        }
        args: list[str] = [worker_id]
        for key, value in fields.items():
            args += [key, value]
        keys = [_record_key(self.name, worker_id), _index_key(self.name)]
        claimed = self._claim(keys=keys, args=args)
        if not claimed:
            return None
        command = self.worker_command(worker_id, task)
        try:
            self._spawn(worker_id, command)
        except (OSError, subprocess.SubprocessError) as error:
            self.log.error("cannot start worker %s (%s): %s", worker_id, command[0], error)
            self._drop(worker_id)
            return None
        self.log.info("started worker %s: %s", worker_id, " ".join(command))
        return record

    def _spawn(self, worker_id: str, command: list[str]) -> None:
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.worker_log_dir is not None:
            self.worker_log_dir.mkdir(parents=True, exist_ok=True)
            safe = worker_id.replace("/", "_")
            path = self.worker_log_dir / f"{self.name}-worker-{safe}.log"
            # A log for the service's owner and group only (see copr_common.log).
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            output = os.fdopen(os.open(path, flags, LOG_FILE_MODE), "ab")
        env = {LOCK_DIR_ENV: str(self.lock_dir)}
        try:
            # A Python worker of this interpreter: forked by the fork server with its
            # imports already done, detached as setsid --fork would (copr_common.warm_start).
            output_fd = None if isinstance(output, int) else output.fileno()
            try:
                if self._warm.run(command, output_fd, env):
                    return
            except OSError as error:
                self.log.warning("fork server failed, worker %s is exec'd: %s", worker_id, error)
            # setsid --fork: the worker becomes a session leader that is not our child, so
            # it survives us and we never have to reap it.
            subprocess.run(
                ["setsid", "--fork", *command],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env={**os.environ, **env},
                check=True,
                timeout=30,
            )
        finally:
            if not isinstance(output, int):
                output.close()

    def wakeup(self) -> None:
        wakeup_dispatcher(self.redis, self.name)

    def warm_up(self) -> None:
        """Start the fork server of the workers now (else the first worker starts it)."""
        try:
            self._warm.start()
        except OSError as error:
            self.log.warning("cannot start the fork server, workers will be exec'd: %s", error)

    def close(self) -> None:
        """Stop the fork server (running workers go on); a later dispatch starts another."""
        self._warm.close()


class WorkerSessionError(RuntimeError):
    """The worker's record is missing or no longer waits for it; the worker must exit."""


class WorkerAlreadyRunning(WorkerSessionError):
    """Another live worker on this host runs the task; the record now names that worker."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class WorkerSession:
    """The worker side of a record: announce the process, read the task, store the result.

    ::

        with WorkerSession(redis, "import", worker_id) as session:
            result = do_the_work(session.task)
            session.result = result

    Entering takes the task's lock (:class:`TaskLock`); when another live worker holds
    it, :class:`WorkerAlreadyRunning` is raised and nothing is to be done.  Meanwhile a
    thread keeps the record in Redis (see the module docstring).  Leaving the block
    marks the record ``done`` (also after an exception, with the error in the result) and
    wakes the dispatcher, which then has a free slot.
    """

    # How long announcing waits for a Redis that does not answer: the dispatcher gives
    # up on a silent worker after its start timeout anyway.
    ANNOUNCE_PATIENCE = 20.0
    # How long storing the result waits for Redis: the result was reported already;
    # the record only tells the manager that this worker is done.
    FINISH_PATIENCE = 20.0

    def __init__(
        self,
        redis: Redis,
        name: str,
        worker_id: str,
        *,
        lock_dir: str | os.PathLike[str] | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.redis = redis
        self.name = name
        self.worker_id = worker_id
        self.key = _record_key(name, worker_id)
        self.result: dict[str, Any] | None = None
        self.heartbeat = heartbeat
        self.log = logging.getLogger(f"copr_common.worker_session.{name}")
        if lock_dir is None:
            lock_dir = os.environ.get(LOCK_DIR_ENV) or default_lock_dir()
        self.lock = TaskLock(Path(lock_dir), name, worker_id)
        self._task: dict[str, Any] | None = None
        self._fields: dict[str, str] = {}
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    @property
    def task(self) -> dict[str, Any]:
        if self._task is None:
            raise WorkerSessionError("the session has not started")
        return self._task

    def start(self) -> dict[str, Any]:
        if not self.lock.acquire():
            holder = self._holder()
            if holder is not None:
                self._hand_over(*holder)
            raise WorkerAlreadyRunning(
                f"task {self.worker_id} of {self.name!r} is already run by worker "
                f"{holder[0] if holder else '(unknown pid)'} on this host; leaving it to it",
                holder[0] if holder else None,
            )
        try:
            self._task = self._announce()
        except BaseException:
            self.lock.release()
            raise
        self._keeper = threading.Thread(
            target=self._keep_record, name=f"record-{self.worker_id}", daemon=True
        )
        self._keeper.start()
        return self._task

    def _retrying(self, what: str, patience: float, call: Any) -> Any:
        deadline = time.monotonic() + patience
        delay = 0.2
        while True:
            try:
                return call()
            except RedisError as error:
                if time.monotonic() + delay > deadline:
                    raise WorkerSessionError(f"cannot {what}: Redis: {error}") from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _announce(self) -> dict[str, Any]:
        pid = os.getpid()
        pid_start = process_start_time(pid)
        announce = self.redis.register_script(_ANNOUNCE)
        fields: list[Any] = ["state", RUNNING, "pid", pid, "pid_start", pid_start]
        fields += ["started", repr(time.time())]

        def call() -> dict[Any, Any] | None:
            if not announce(keys=[self.key], args=fields):
                return None
            return self.redis.hgetall(self.key)

        raw = self._retrying("announce the worker", self.ANNOUNCE_PATIENCE, call)
        if raw is None:
            raise WorkerSessionError(
                f"worker {self.worker_id} of {self.name!r} is not expected (no record in the "
                "'starting' state): it was given up on or never dispatched"
            )
        self._fields = {_text(key): _text(value) for key, value in raw.items()}
        return WorkerRecord.from_redis(self.worker_id, raw).task

    def _holder(self) -> tuple[int, int] | None:
        # The holder writes its pid right after taking the lock: give it a moment.
        for _ in range(20):
            holder = self.lock.holder()
            if holder is not None:
                return holder
            time.sleep(0.05)
        return None

    def _hand_over(self, pid: int, pid_start: int) -> None:
        """Make our record name the worker that really runs the task."""
        hand_over = self.redis.register_script(_HAND_OVER)
        fields: list[Any] = ["state", RUNNING, "pid", pid, "pid_start", pid_start]
        fields += ["started", repr(time.time())]
        with contextlib.suppress(RedisError):
            hand_over(keys=[self.key], args=fields)

    def _keep_record(self) -> None:
        reregister = self.redis.register_script(_REREGISTER)
        pid = str(os.getpid())
        while not self._stop.wait(self.heartbeat):
            args: list[Any] = [self.worker_id]
            for key, value in {**self._fields, "pid": pid, "state": RUNNING}.items():
                args += [key, value]
            try:
                if reregister(keys=[self.key, _index_key(self.name)], args=args):
                    self.log.warning(
                        "worker %s: Redis had lost its record; written again", self.worker_id
                    )
            except RedisError:
                continue  # Redis is away; the next beat tries again

    def finish(self, result: dict[str, Any] | None = None) -> None:
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
        # The lock goes first: once the record says done, a new worker for the task (the
        # task is still queued when its report was lost) must find the lock free.
        self.lock.release()
        finish = self.redis.register_script(_FINISH)
        args = [str(os.getpid()), "state", DONE, "result", json.dumps(result or {})]
        try:
            self._retrying(
                "store the result",
                self.FINISH_PATIENCE,
                lambda: finish(keys=[self.key], args=args),
            )
            wakeup_dispatcher(self.redis, self.name)
        except (WorkerSessionError, RedisError) as error:
            # The dispatcher then sees the process gone and drops the record itself.
            self.log.warning("worker %s: %s", self.worker_id, error)

    def __enter__(self) -> WorkerSession:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.finish({"error": f"{exc_type.__name__ if exc_type else 'error'}: {exc}"})
        else:
            self.finish(self.result)
