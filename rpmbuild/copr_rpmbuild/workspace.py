"""Build workspaces: a directory per build under ``workspace_dir``, gone when it is over.

A build's workspace ``build-XXXX/`` (with ``box/`` and ``host/``, see
:mod:`copr_rpmbuild.context`) has a lock file next to it, ``build-XXXX.lock``, that the
build holds (``flock``) for as long as it runs; the lock goes away with the process,
however it ends.  The build removes its workspace when it ends — succeeded, failed,
canceled or timed out.  One that could not (it was killed: by copr-rpmbuild-cancel past
its grace, by the OOM killer, with its machine) leaves a workspace whose lock nobody
holds, and whatever runs on the builder next removes it: the next build as it starts,
``copr-rpmbuild-cancel`` once the build is stopped, ``copr-rpmbuild-log`` once it has
seen the build end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.errors import InfrastructureError

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
_PREFIX = "build-"
_LOCK_SUFFIX = ".lock"


class Workspace:
    """One build's workspace, locked while this object lives (until :meth:`remove`)."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @property
    def lock_file(self) -> Path:
        return self.path.with_name(self.path.name + _LOCK_SUFFIX)

    def remove(self) -> None:
        remove_tree(self.path)
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                self.lock_file.unlink()
            os.close(self._lock_fd)
            self._lock_fd = None


def make_workspace(settings: RpmbuildSettings) -> Workspace:
    """A fresh, locked workspace (with ``box/`` and ``host/``) the sandbox's uid can reach."""
    try:
        settings.workspace_dir.mkdir(parents=True, exist_ok=True)
        # The lock first: a sweep that finds the directory finds it held.
        fd, name = tempfile.mkstemp(prefix=_PREFIX, suffix=_LOCK_SUFFIX, dir=settings.workspace_dir)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = Path(name[: -len(_LOCK_SUFFIX)])
        if path.exists() or path.is_symlink():
            # Left by a build from before workspaces had locks; the name is ours now.
            remove_tree(path)
        path.mkdir(mode=0o755)
        path.chmod(0o755)
        (path / "box").mkdir(mode=0o755)
        (path / "host").mkdir(mode=0o755)
    except OSError as error:
        raise InfrastructureError(
            f"cannot create a workspace in {settings.workspace_dir}: {error.strerror}"
        ) from None
    workspace = Workspace(path, fd)
    if os.geteuid() == 0:
        for parent in path.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                workspace.remove()
                raise InfrastructureError(
                    f"the sandbox's uid {settings.sandbox_uid} cannot reach the workspace: "
                    f"{parent} is not searchable by others (chmod o+x, or pick another "
                    "workspace_dir)"
                )
    return workspace


def sweep(workspace_dir: Path) -> list[Path]:
    """Remove the workspaces in ``workspace_dir`` that no running build holds; the
    removed ones.  Never fails: what cannot be removed now is tried again next time."""
    removed: list[Path] = []
    try:
        entries = sorted(workspace_dir.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(_PREFIX) or entry.name.endswith(_LOCK_SUFFIX):
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        lock = entry.with_name(entry.name + _LOCK_SUFFIX)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a running build holds it
            if remove_tree(entry):
                removed.append(entry)
                with contextlib.suppress(OSError):
                    lock.unlink()
        finally:
            os.close(fd)
    return removed


def remove_tree(path: Path) -> bool:
    """Remove ``path`` and everything below it; whether it is gone.

    A build may leave directories it made read-only (a Go module cache, ``chmod -w``):
    an unprivileged copr-rpmbuild, their owner, makes them writable again to empty them.
    """

    def retry(function: Any, name: str, _info: _ExcInfo) -> None:
        where = Path(name)
        with contextlib.suppress(OSError):
            where.parent.chmod(stat.S_IRWXU)
            if where.is_dir() and not where.is_symlink():
                where.chmod(stat.S_IRWXU)
        with contextlib.suppress(OSError):
            function(name)

    if not (path.exists() or path.is_symlink()):
        return True
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(OSError):
            path.unlink()
        return not path.exists()
    # Python 3.11 has onerror only (onexc arrived in 3.12).
    shutil.rmtree(path, onerror=retry)
    if path.exists():
        # A directory emptied on the retry pass may still stand; one more pass takes it.
        shutil.rmtree(path, ignore_errors=True)
    return not path.exists()
