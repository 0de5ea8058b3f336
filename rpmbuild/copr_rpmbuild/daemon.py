"""Running detached: fork away from the caller, hold the one-build lock, write the pid.

The caller's process waits until the detached build holds the lock and has written its
pid file, so a log follower or a cancel started right after it finds the build.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path

from copr_rpmbuild.errors import EXIT_INFRASTRUCTURE, InfrastructureError


class Detached:
    """The detached side's channel back to the waiting caller."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def report(self, message: str) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._fd, message.encode())
        os.close(self._fd)
        self._fd = None


def detach() -> Detached:
    """Fork twice and start a new session; only the detached grandchild returns."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child > 0:
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 4096):
            chunks.append(chunk)
        os.waitpid(child, 0)
        message = b"".join(chunks).decode(errors="replace")
        if message.startswith("ok "):
            print(message[3:].strip())
            os._exit(0)
        print(message or "copr-rpmbuild: the detached build did not start", file=sys.stderr)
        os._exit(EXIT_INFRASTRUCTURE)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return Detached(write_end)


class BuildLock:
    """An exclusive lock on ``path`` for this process' lifetime: one build per builder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InfrastructureError(
                f"cannot open the lock file {self.path}: {error.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InfrastructureError(
                f"another copr-rpmbuild is running on this builder (lock {self.path} is held)"
            ) from None
        os.set_inheritable(fd, False)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
