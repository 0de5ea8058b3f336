"""Named locks that hold across threads and processes (``flock`` on a lock file).

Each acquisition opens the lock file anew, so two threads of one process contend like two
processes do: ``flock`` locks belong to the open file, not to the process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LockTimeoutError", "identity_lock"]

_POLL = 0.05


class LockTimeoutError(TimeoutError):
    """Another request held the identity's lock for longer than we may wait."""


def lock_path(lock_dir: Path, name: str) -> Path:
    # Identities hold '#' and '@'; a hash keeps the file name plain and bounded.
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    return lock_dir / f"{digest}.lock"


@contextlib.contextmanager
def identity_lock(lock_dir: Path, name: str, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock for ``name``; raise :class:`LockTimeoutError` after ``timeout``."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path(lock_dir, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"another request has held the lock for {name!r} for {timeout:.0f}s"
                    ) from None
                time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
