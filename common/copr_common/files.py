"""Files that readers never see half-written, and lock files.

Another process (dnf, a web server, a second worker of the same project) may read a file
while it is replaced, so a new version is written beside it under a name of its own and
renamed over it in one step.  The temporary name is unique per writer: two workers
publishing the same file at once each rename a whole file, the later one wins.

A lock file (:func:`lock_file`) is an ``flock`` on a file that its holder may unlink as it
lets go; whoever waited for that lock holds a file no longer at the path, so it tries
again on the new one.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

__all__ = ["lock_file", "write_atomically"]


def write_atomically(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename (text is written as UTF-8)."""
    content = data.encode() if isinstance(data, str) else data
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        temporary.chmod(mode)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def lock_file(path: Path, *, block: bool = False) -> int | None:
    """A descriptor holding the exclusive ``flock`` of ``path`` (created when missing,
    never through a link); None when another holds it and ``block`` is False.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        # The previous holder may have unlinked the file while this waited: a lock on
        # a file that is no longer at the path guards nothing.
        try:
            same = path.stat().st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
