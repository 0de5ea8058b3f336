"""Running one command of a build under the build's limits.

Output (stdout and stderr together) streams into the live log. The command is stopped —
with its whole process tree, INT then TERM then KILL — when the task's deadline passes,
when the log reaches its cap, when the watched directory outgrows its disk quota, or when
the build is canceled.
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from copr_rpmbuild import proctree
from copr_rpmbuild.errors import BuildCanceled, BuildTimeout, InfrastructureError, LimitExceeded
from copr_rpmbuild.livelog import LiveLog

_DISK_CHECK_INTERVAL = 1.0
_log = logging.getLogger("copr_rpmbuild")


class CancelFlag:
    """Set from a signal handler; checked by every loop that may run for long."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def set(self, signum: int) -> None:
        self.signum = signum

    def __bool__(self) -> bool:
        return self.signum is not None

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda num, _frame: self.set(num))

    def check(self) -> None:
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            raise BuildCanceled(f"stopped by {name}")


class OutputTail:
    """The last bytes the latest command printed: what a failure is explained from.

    The live log holds everything; this keeps only the end of one command's output, so
    that finding out why it failed reads a bounded amount of text.
    """

    SIZE = 256 * 1024

    def __init__(self) -> None:
        self.command = ""
        # Whether a limit (timeout, cancel, log size, disk) stopped the command.
        self.interrupted = False
        self._data = bytearray()

    def start(self, command: str) -> None:
        self.command = command
        self.interrupted = False
        self._data.clear()

    def add(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > self.SIZE:
            del self._data[: len(self._data) - self.SIZE]

    def text(self) -> str:
        return self._data.decode(errors="replace")


@dataclass
class Limits:
    """What every command of one build shares: its deadline, log, quota and cancel flag."""

    log: LiveLog
    deadline: float
    timeout: int
    grace: float
    cancel: CancelFlag = field(default_factory=CancelFlag)
    watch_dir: Path | None = None
    max_disk: int | None = None
    output: OutputTail = field(default_factory=OutputTail)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        self.cancel.check()
        if self.remaining() <= 0:
            raise BuildTimeout(f"it ran longer than its timeout of {self.timeout} s")


def disk_usage(path: Path) -> int:
    """Bytes used by the regular files below ``path`` (hard links counted once)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                stat = (Path(dirpath) / name).lstat()
            except OSError:
                continue
            key = (stat.st_dev, stat.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += stat.st_blocks * 512
    return total


def run(
    argv: Sequence[str],
    limits: Limits,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    describe: str | None = None,
    pass_fds: Sequence[int] = (),
    on_start: Callable[[], None] | None = None,
) -> int:
    """Run ``argv`` to its end and return its exit status; raise when a limit stops it.

    ``pass_fds`` are inherited by the command; ``on_start`` runs once it has started (a
    sandbox connects its network then); what it raises stops the command.
    """
    limits.check()
    label = describe or argv[0]
    _log.debug("Running %s: %s", label, shlex.join(argv))
    limits.output.start(label)
    # Processes already below us (say, a test's servers) are not this command's leftovers.
    before = set(proctree.descendants(os.getpid()))
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    except OSError as error:
        raise InfrastructureError(f"cannot run {label}: {error.strerror}") from None
    assert proc.stdout is not None
    stream = proc.stdout
    fd = stream.fileno()
    os.set_blocking(fd, False)
    next_disk_check = time.monotonic() + _DISK_CHECK_INTERVAL
    stop: Exception | None = None
    open_pipe = True
    try:
        if on_start is not None:
            try:
                on_start()
            except Exception as error:  # stops the command; raised below
                stop = error
        while stop is None:
            if open_pipe:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        data = b""
                    if data:
                        limits.output.add(data)
                        if not limits.log.write(data):
                            stop = LimitExceeded(
                                f"{label} printed more than the log limit of "
                                f"{limits.log.limit} bytes"
                            )
                            break
                    elif data == b"":
                        open_pipe = False
            else:
                time.sleep(0.05)
            if proc.poll() is not None and not open_pipe:
                break
            if proc.poll() is not None:
                # The command ended; whatever still holds the pipe is a leftover of it.
                _kill_leftovers(before | {proc.pid}, limits.grace)
            if limits.cancel:
                stop = BuildCanceled(f"stopped while running {label}")
                break
            if limits.remaining() <= 0:
                stop = BuildTimeout(
                    f"it ran longer than its timeout of {limits.timeout} s ({label} was killed)"
                )
                break
            if limits.watch_dir is not None and limits.max_disk is not None:
                now = time.monotonic()
                if now >= next_disk_check:
                    used = disk_usage(limits.watch_dir)
                    # Walking a huge build tree is not free: check less often when it is slow.
                    spent = time.monotonic() - now
                    next_disk_check = now + max(_DISK_CHECK_INTERVAL, 20 * spent)
                    if used > limits.max_disk:
                        stop = LimitExceeded(
                            f"{label} used {used} bytes of disk, over the limit of "
                            f"{limits.max_disk} bytes"
                        )
                        break
    finally:
        if stop is not None or proc.poll() is None:
            proctree.terminate_tree(
                proc.pid, grace=limits.grace, on_signal=_signal_logger(limits.log, label, stop)
            )
        _kill_leftovers(before | {proc.pid}, 0.5)
        proc.wait()
        stream.close()
        _reap_orphans(before)
    if stop is not None:
        limits.output.interrupted = True
        raise stop
    return proc.returncode


def _signal_logger(
    log: LiveLog, label: str, stop: Exception | None
) -> Callable[[int, list[int]], None]:
    """Says in the live log why and with what the command is being stopped: a timed-out
    build's log then shows what its processes were sent."""
    why = str(stop) if stop is not None else f"{label} is being stopped"

    def logged(signum: int, pids: list[int]) -> None:
        name = signal.Signals(signum).name.removeprefix("SIG")
        log.line(f"{why}: sending {name} to {label} ({len(pids)} processes)")

    return logged


def _kill_leftovers(keep: set[int], grace: float) -> None:
    """Stop what a finished command left behind (daemons, background jobs)."""
    leftovers = [p for p in proctree.descendants(os.getpid()) if p not in keep]
    for leftover in leftovers:
        proctree.terminate_tree(leftover, grace=grace)


def _reap_orphans(keep: set[int]) -> None:
    """Collect exit statuses of orphans that re-parented to us (we are a subreaper)."""
    for pid in proctree.descendants(os.getpid()):
        if pid in keep:
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
