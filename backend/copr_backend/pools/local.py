"""The local pool: N builder slots on this host, each a directory of its own.

A slot holds a ``rpmbuild.toml`` pointing copr-rpmbuild at the slot's ``results/``,
``workspace/`` and ``state/`` (its lock, pid file, exit status and the id of the task it
runs), so the slots build side by side in their own sandboxes, each as a uid of its own
(``local_uid_base`` + slot number).

Who has a slot is kept in the slot itself, never in Redis, so it survives any restart:

``lease``     an ``flock`` the worker that has the slot holds for as long as it lives (the
              kernel lets go when it dies), so a live worker's slot is never given away;
``reserved``  the task the slot is kept for, written when a worker takes the slot and
              removed only once that task's final state is reported.  A worker that
              takes a task over (its predecessor died) finds the slot by it, and the
              build there — running, or ended but not yet reported — is the task's.

A slot is free when nobody holds its lease, no build runs in it and it is reserved for
nobody — or for a task that no longer needs it: one the frontend does not list any more
(it finished, was canceled or deleted), asked through ``task_is_queued``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import tomli_w

from copr_backend.pools import Builder, BuilderPool, BuildRequest, PoolError, wait_for_builder
from copr_backend.pools.rpmbuild import BuilderStatus
from copr_backend.settings import BackendSettings
from copr_common.exit_codes import EXIT_INFRASTRUCTURE
from copr_common.files import lock_file
from copr_common.settings import SettingsError
from copr_common.warm_start import point_descriptors, show_command_line

log = logging.getLogger(__name__)

# How long a worker waits for a build that holds its slot's lock to say which task it is
# (copr-rpmbuild writes its task id right after taking the lock).
_TASK_ID_WAIT = 10.0
# How long the log follower waits for a started build's log to appear.
_FOLLOW_WAIT = 60.0
# How long copr-rpmbuild --detached may take to say that the build has started.
_START_TIMEOUT = 120.0


class SlotLease:
    """The ``flock`` on ``<slot>/lease``: held by the worker that has the slot."""

    def __init__(self, slot_dir: Path) -> None:
        self.path = slot_dir / "lease"
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._fd = lock_file(self.path)
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SlotLogFollower:
    """``copr-rpmbuild-log``'s loop, run in a thread of the worker: the slot is on this
    host, and a follower program costs a Python start-up per task.
    """

    def __init__(self, settings: Any, output: IO[bytes], where: str) -> None:
        self.returncode: int | None = None
        self._thread = threading.Thread(
            target=self._run, args=(settings, output, where), name=f"log-{where}", daemon=True
        )
        self._thread.start()

    def _run(self, settings: Any, output: IO[bytes], where: str) -> None:
        from copr_rpmbuild.follow import follow

        try:
            code = follow(settings, _FOLLOW_WAIT, out=output.fileno())
        except Exception as error:  # the thread must end with a code, whatever broke
            log.error("%s: following the live log failed: %s", where, error)
            code = EXIT_INFRASTRUCTURE
        self.returncode = code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("the live log", timeout or 0)
        return self.returncode


class ForkedRpmbuild:
    """``copr-rpmbuild`` run by a fork of the worker instead of a program of its own.

    copr-rpmbuild's start-up (an interpreter, then its imports: a few hundred ms) was on
    the way of every task.  The worker's fork server has copr-rpmbuild imported, so the
    worker forks this launcher first thing, while it is one thread with nothing leased
    and no lock taken; it waits, and at the build's start runs copr-rpmbuild's ``main``
    with the command's arguments, as a fresh ``copr-rpmbuild`` would: stdin ``/dev/null``,
    stdout and stderr together to the worker, every other descriptor on /dev/null, the signal
    handling of a fresh interpreter, no log handler of the worker's.  It runs one
    command; a worker that needs another (a slot that refused to start) runs the program.
    """

    def __init__(self) -> None:
        # Nothing the worker wrote is left in a buffer that the launcher would write again.
        sys.stdout.flush()
        sys.stderr.flush()
        request_read, self._request = os.pipe()
        self._reply, reply_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self._request)
            os.close(self._reply)
            os._exit(_serve_one_command(request_read, reply_write))
        os.close(request_read)
        os.close(reply_write)
        self._used = False

    def run(self, command: Sequence[str], timeout: float) -> tuple[int, str] | None:
        """Run ``command`` (exit code, output), or None: already used, or gone."""
        if self._used:
            return None
        self._used = True
        try:
            os.write(self._request, json.dumps(list(command)).encode())
        except OSError:
            self.close()
            return None
        self._close_pipes(reply=False)
        output = self._read_reply(timeout)
        if output is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self.close()
            raise subprocess.TimeoutExpired(list(command), timeout)
        code = self._reap()
        return code, output

    def _read_reply(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        waiting = select.poll()
        waiting.register(self._reply, select.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            if not waiting.poll(left * 1000):
                continue
            chunk = os.read(self._reply, 65536)
            if not chunk:
                return b"".join(chunks).decode(errors="replace")
            chunks.append(chunk)
        return None

    def _reap(self) -> int:
        self._close_pipes()
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return EXIT_INFRASTRUCTURE
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def _close_pipes(self, reply: bool = True) -> None:
        # Each once: a number closed twice may be another file's by then.
        if self._request >= 0:
            os.close(self._request)
            self._request = -1
        if reply and self._reply >= 0:
            os.close(self._reply)
            self._reply = -1

    def close(self) -> None:
        """The launcher is not needed (any more): it ends, unused."""
        self._used = True
        self._close_pipes()
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


def _serve_one_command(request_fd: int, reply_fd: int) -> int:
    """The launcher: wait for the command, then be copr-rpmbuild running it."""
    chunks = []
    while chunk := os.read(request_fd, 65536):
        chunks.append(chunk)
    if not chunks:
        return 0  # the worker went without a build to start
    command = json.loads(b"".join(chunks))
    _reset_signals()
    # The worker's files become /dev/null rather than closed: an object of the worker that
    # still holds one (a log handler's stream) would close the number again when it goes,
    # by then a file of copr-rpmbuild's.
    point_descriptors(reply_fd)
    # The worker's handlers write to its log; copr-rpmbuild logs to its live log only.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    # Streams of their own on the new 1 and 2: the worker's may be anything (a test's
    # capture), and hold what it had not written yet.
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.argv = list(command)
    # What ps shows, as for the program (its script run by this Python).
    show_command_line([sys.executable, *command])
    code: object = EXIT_INFRASTRUCTURE
    try:
        from copr_rpmbuild.cli import main

        code = main(command[1:])
    except SystemExit as leaving:
        code = leaving.code
    except BaseException as error:  # what would have been the program's traceback
        print(f"copr-rpmbuild: {type(error).__name__}: {error}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    if code is None:
        return 0
    return code if isinstance(code, int) else EXIT_INFRASTRUCTURE


def _reset_signals() -> None:
    """The signal handling a fresh interpreter starts with, whatever the worker had."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for number in signal.valid_signals():
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)
    # What Python itself sets at start.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def runs_in_worker(command: str) -> bool:
    """Whether ``rpmbuild_command`` is the copr-rpmbuild installed beside this Python
    (its console script), which :class:`ForkedRpmbuild` may run in a fork instead.
    """
    found = shutil.which(command)
    if found is None or Path(found).name != "copr-rpmbuild":
        return False
    return Path(found).absolute().parent == Path(sys.executable).absolute().parent


class LocalBuilder(Builder):
    """One slot of the local pool, running copr-rpmbuild with the slot's own config."""

    def __init__(
        self,
        pool: LocalPool,
        slot: int,
        task_id: str,
        attached: bool,
        lease: SlotLease | None,
    ) -> None:
        self.pool = pool
        self.task_id = task_id
        self.slot = slot
        self.attached = attached
        self.lease = lease
        self.dir = pool.slot_dir(slot)
        self.config = self.dir / "rpmbuild.toml"
        self.name = f"local-{slot}"

    @property
    def resultdir(self) -> Path:
        return self.dir / "results"

    def start(self, request: BuildRequest) -> None:
        settings = self.pool.settings
        command = [settings.rpmbuild_command, "--detached", "--drop-resultdir", "-c"]
        command += [str(self.config), "--build-id", str(request.build_id)]
        command += ["--srpm"] if request.is_source else ["--chroot", str(request.chroot)]
        try:
            code, output = self._run(command)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PoolError(f"{self.name}: cannot run {command[0]}: {error}") from None
        if code == 0:
            return
        # A worker that died while starting the build may have got that far: when the
        # build holding the slot is this very task, it is ours to follow, not a failure.
        if self.pool.slot_runs(self.slot) == request.task_id:
            self.attached = True
            return
        raise PoolError(f"{self.name}: copr-rpmbuild did not start (exit {code}): {output.strip()}")

    def _run(self, command: list[str]) -> tuple[int, str]:
        launcher = self.pool.launcher
        if launcher is not None and (ran := launcher.run(command, _START_TIMEOUT)) is not None:
            return ran
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_START_TIMEOUT, check=False
        )
        return result.returncode, result.stderr or result.stdout

    def follow_log(self, output: IO[bytes]) -> SlotLogFollower:
        return SlotLogFollower(self.pool.rpmbuild_settings(self.slot), output, self.name)

    def is_running(self) -> bool:
        return self.pool.status(self.slot).running

    def build_pids(self) -> list[int]:
        return self.pool.status(self.slot).pids

    def cancel(self) -> None:
        settings = self.pool.settings
        command = [settings.rpmbuild_cancel_command, "-c", str(self.config)]
        command += ["--grace", str(settings.cancel_grace)]
        try:
            subprocess.run(
                command,
                capture_output=True,
                timeout=settings.cancel_grace + 30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PoolError(f"{self.name}: copr-rpmbuild-cancel failed: {error}") from None

    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        destination.mkdir(parents=True, exist_ok=True)
        copied: list[Path] = []
        if not self.resultdir.is_dir():
            return copied
        for path in sorted(self.resultdir.iterdir()):
            # Only plain files: the sandbox checked the tree, but a link is never followed.
            if path.is_symlink() or not path.is_file():
                continue
            target = destination / path.name
            if keep is not None and target.exists() and keep(target):
                continue
            # Readers (dnf, dist-git) of the published tree never see half a file.
            partial = destination / f".{path.name}.partial"
            shutil.copyfile(path, partial)
            partial.replace(target)
            copied.append(target)
        return copied


class LocalPool(BuilderPool):
    """Builder slots on this host, each leased by an ``flock`` in its own directory."""

    def __init__(
        self,
        settings: BackendSettings,
        task_is_queued: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        # Whether the frontend still lists a task (so a slot reserved for it is kept);
        # without it, a reserved slot is kept until its own task's worker releases it.
        self.task_is_queued = task_is_queued or (lambda task_id: True)
        self.launcher: ForkedRpmbuild | None = None

    def warm_up(self) -> None:
        """Fork the launcher that starts this worker's build (see :class:`ForkedRpmbuild`)."""
        if self.launcher is None and runs_in_worker(self.settings.rpmbuild_command):
            self.launcher = ForkedRpmbuild()

    def close(self) -> None:
        if self.launcher is not None:
            self.launcher.close()
            self.launcher = None

    def slot_dir(self, slot: int) -> Path:
        return self.settings.local_pool_dir / f"slot-{slot}"

    def slot_uid(self, slot: int) -> int:
        return self.settings.local_uid_base + slot

    def reserved_for(self, slot: int) -> str | None:
        """The task the slot is kept for, if any."""
        try:
            text = (self.slot_dir(slot) / "reserved").read_text().strip()
        except OSError:
            return None
        return text or None

    def _reserve(self, slot: int, task_id: str | None) -> None:
        path = self.slot_dir(slot) / "reserved"
        if task_id is None:
            path.unlink(missing_ok=True)
            return
        partial = path.with_name(".reserved.partial")
        partial.write_text(f"{task_id}\n")
        partial.replace(path)

    def status(self, slot: int, wait_task: float = 0.0) -> BuilderStatus:
        """What copr-rpmbuild says of the slot (nothing for a slot never set up).

        The slot is on this host: its state is read here, by the function that
        ``copr-rpmbuild-status`` prints, rather than by starting that program (a Python
        start-up of its own, on the way of every lease).
        """
        if not (self.slot_dir(slot) / "rpmbuild.toml").exists():
            return BuilderStatus(task_id=None, busy=False, running=False)
        from copr_rpmbuild.status import status

        try:
            data = status(self.rpmbuild_settings(slot), wait_task)
        except OSError as error:
            raise PoolError(f"local-{slot}: cannot read the slot's state: {error}") from None
        return BuilderStatus.of(data, f"local-{slot}")

    def rpmbuild_settings(self, slot: int) -> Any:
        """The slot's copr-rpmbuild settings (``rpmbuild.toml``), as copr-rpmbuild reads them."""
        try:
            # Only the local pool needs copr-rpmbuild on this host.
            from copr_rpmbuild.config import load_config
        except ImportError as error:
            raise PoolError(f"the local pool needs copr-rpmbuild on this host: {error}") from None
        try:
            return load_config(self.slot_dir(slot) / "rpmbuild.toml")
        except SettingsError as error:
            raise PoolError(f"local-{slot}: bad rpmbuild.toml: {error}") from None

    def slot_runs(self, slot: int) -> str | None:
        """The task whose build runs in the slot, or ended there (None: nothing, or unknown)."""
        return self.status(slot, wait_task=_TASK_ID_WAIT).task_id

    def _build_running(self, slot: int) -> bool:
        return self.status(slot).busy

    def _prepare(self, slot: int) -> None:
        base = self.slot_dir(slot)
        values: dict[str, Any] = dict(self.settings.rpmbuild_settings)
        values.update(
            {
                "frontend_url": self.settings.frontend_url,
                "resultdir": base / "results",
                "workspace_dir": base / "workspace",
                "state_dir": base / "state",
                "sandbox_uid": self.slot_uid(slot),
            }
        )
        # The slot's uid walks into the workspace: every parent must be searchable.
        for path in (self.settings.local_pool_dir, base):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        try:
            # TOML has neither null nor a path type.
            plain = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
            text = tomli_w.dumps({k: v for k, v in plain.items() if v is not None})
        except TypeError as error:
            raise PoolError(f"bad rpmbuild_settings: {error}") from None
        # Written whole and renamed, so a worker looking at the slot never reads half a file.
        partial = base / ".rpmbuild.toml.partial"
        partial.write_text(text)
        partial.replace(base / "rpmbuild.toml")

    def _take(self, slot: int) -> SlotLease | None:
        self.slot_dir(slot).mkdir(parents=True, exist_ok=True)
        lease = SlotLease(self.slot_dir(slot))
        return lease if lease.acquire() else None

    def _try_lease(self, request: BuildRequest) -> LocalBuilder | None:
        """One look at the slots; a worker holds at most one lease at a time, and only
        for as long as a look at that slot takes (so two workers never block each other).
        """
        task_id = request.task_id
        slots = list(range(self.settings.local_slots))
        # The task's own slot, when a worker before this one took one: it may hold the
        # build (running, or ended and unreported), so no other slot may be taken then.
        # ``reserved`` is read without the lease: only this task's worker writes this id.
        own = [slot for slot in slots if self.reserved_for(slot) == task_id]
        if own:
            lease = self._take(own[0])
            if lease is None:
                return None  # a worker looking at the slot right now: try again
            self._prepare(own[0])
            attached = self.slot_runs(own[0]) == task_id
            return LocalBuilder(self, own[0], task_id, attached, lease)
        # Start at a random slot so that workers looking at once spread over the slots.
        first = random.randrange(len(slots))
        for slot in slots[first:] + slots[:first]:
            holder = self.reserved_for(slot)
            # Asked without the lease: it may take a request to the frontend.
            if holder is not None and self.task_is_queued(holder):
                continue
            lease = self._take(slot)
            if lease is None:
                continue
            if self.reserved_for(slot) != holder or self._build_running(slot):
                lease.release()
                continue
            self._reserve(slot, task_id)
            self._prepare(slot)
            return LocalBuilder(self, slot, task_id, False, lease)
        return None

    def lease(self, request: BuildRequest, timeout: float) -> Builder:
        return wait_for_builder(self._try_lease, request, timeout, "local builder slot")

    def release(self, builder: Builder) -> None:
        if not isinstance(builder, LocalBuilder) or builder.lease is None:
            raise PoolError(f"{builder!r} is not a builder leased from this pool")
        with contextlib.suppress(OSError):
            if self.reserved_for(builder.slot) == builder.task_id:
                self._reserve(builder.slot, None)
        builder.lease.release()

    def forget(self, builder: Builder) -> None:
        """Let go of the slot but keep it reserved (the task's report is still due)."""
        if isinstance(builder, LocalBuilder) and builder.lease is not None:
            builder.lease.release()

    def find(self, task_id: str) -> LocalBuilder | None:
        """The slot whose build runs (or ran) ``task_id``, to look at; it is not leased."""
        for slot in range(self.settings.local_slots):
            if self.slot_runs(slot) == task_id:
                return LocalBuilder(self, slot, task_id, True, None)
        return None
