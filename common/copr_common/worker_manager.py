"""One detached worker process per task, tracked in Redis so workers outlive their dispatcher.

A :class:`WorkerManager` starts a worker for a task and records it in Redis under the task's
id: a hash ``copr:<name>:worker:<task id>`` listed in the set ``copr:<name>:workers``.  The
worker runs in a session of its own (``setsid --fork``), so it is not the dispatcher's
child: a dispatcher that stops, crashes or is killed leaves its workers running, and the
next one finds them in Redis and adopts them.

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
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Generic, TypeVar

from redis import Redis

from copr_common.log import LOG_FILE_MODE

__all__ = [
    "QueueTask",
    "ReapReport",
    "WorkerManager",
    "WorkerRecord",
    "WorkerSession",
    "WorkerSessionError",
    "process_start_time",
    "wakeup_channel",
    "wakeup_dispatcher",
]

STARTING = "starting"
RUNNING = "running"
DONE = "done"


def _key_prefix(name: str) -> str:
    return f"copr:{name}"


def _record_key(name: str, worker_id: str) -> str:
    return f"{_key_prefix(name)}:worker:{worker_id}"


def _index_key(name: str) -> str:
    return f"{_key_prefix(name)}:workers"


def wakeup_channel(name: str) -> str:
    """The pub/sub channel a manager's dispatcher listens on for "there is new work"."""
    return f"{_key_prefix(name)}:wakeup"


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

_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class WorkerManager(ABC, Generic[TaskT]):
    """Starts, tracks and reaps the worker processes of one kind of task.

    Subclasses say how to run a worker (:meth:`worker_command`) and may refuse to start a
    task for now (:meth:`may_start`, e.g. per-owner limits); the rest is generic.
    """

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        max_workers: int,
        start_timeout: float = 60.0,
        worker_timeout: float | None = None,
        worker_log_dir: str | os.PathLike[str] | None = None,
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
        self.log = log or logging.getLogger(f"copr_common.worker_manager.{name}")
        self.host = socket.gethostname()
        self._claim = redis.register_script(_CLAIM)

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
        return bool(self.redis.exists(_record_key(self.name, worker_id)))

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
                self.on_died(record, reason)
                self._drop(record.worker_id)
                report.died.append((record, reason))
        return report

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
            if task.id in held or not self.may_start(task, running):
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
        try:
            # setsid --fork: the worker becomes a session leader that is not our child, so
            # it survives us and we never have to reap it.
            subprocess.run(
                ["setsid", "--fork", *command],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                check=True,
                timeout=30,
            )
        finally:
            if not isinstance(output, int):
                output.close()

    def wakeup(self) -> None:
        wakeup_dispatcher(self.redis, self.name)


class WorkerSessionError(RuntimeError):
    """The worker's record is missing or no longer waits for it; the worker must exit."""


class WorkerSession:
    """The worker side of a record: announce the process, read the task, store the result.

    ::

        with WorkerSession(redis, "import", worker_id) as session:
            result = do_the_work(session.task)
            session.result = result

    Leaving the block marks the record ``done`` (also after an exception, with the error
    in the result) and wakes the dispatcher, which then has a free slot.
    """

    def __init__(self, redis: Redis, name: str, worker_id: str) -> None:
        self.redis = redis
        self.name = name
        self.worker_id = worker_id
        self.key = _record_key(name, worker_id)
        self.result: dict[str, Any] | None = None
        self._task: dict[str, Any] | None = None

    @property
    def task(self) -> dict[str, Any]:
        if self._task is None:
            raise WorkerSessionError("the session has not started")
        return self._task

    def start(self) -> dict[str, Any]:
        pid = os.getpid()
        pid_start = process_start_time(pid)
        announce = self.redis.register_script(_ANNOUNCE)
        fields: list[Any] = ["state", RUNNING, "pid", pid, "pid_start", pid_start]
        ok = announce(keys=[self.key], args=[*fields, "started", repr(time.time())])
        if not ok:
            raise WorkerSessionError(
                f"worker {self.worker_id} of {self.name!r} is not expected (no record in the "
                "'starting' state): it was given up on or never dispatched"
            )
        raw = self.redis.hgetall(self.key)
        self._task = WorkerRecord.from_redis(self.worker_id, raw).task
        return self._task

    def finish(self, result: dict[str, Any] | None = None) -> None:
        finish = self.redis.register_script(_FINISH)
        finish(keys=[self.key], args=["state", DONE, "result", json.dumps(result or {})])
        wakeup_dispatcher(self.redis, self.name)

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
