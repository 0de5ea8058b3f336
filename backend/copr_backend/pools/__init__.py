"""Builder pools: where builds run.

A worker leases a :class:`Builder` for its task (with the task's tags and sandbox), starts
``copr-rpmbuild --detached`` on it, follows its live log, fetches the results and releases
it.  The build runs detached, so a worker that dies leaves it running; the worker that
takes the task over leases again, gets the same builder back (``attached``) and picks the
build up where it is — still running, or ended and waiting to be reported.  Which
builder runs which task is known from the builders themselves, never only from Redis.

Pools are chosen by the ``builder_pool`` setting: ``local`` (this host, N slots, see
:mod:`copr_backend.pools.local`), ``ssh`` (builder hosts the settings list, driven over
SSH, see :mod:`copr_backend.pools.ssh`) and ``resalloc`` (builders leased as tickets from
a resalloc server, driven over SSH; see :mod:`copr_backend.pools.resalloc`).  Each drives
copr-rpmbuild only through its commands (:mod:`copr_backend.pools.rpmbuild`).  A remote
builder may die: :meth:`Builder.alive` says so, and the worker then
:meth:`~BuilderPool.discard` s it and has the task rescheduled.
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeVar

from copr_backend.settings import BackendSettings


class PoolError(RuntimeError):
    """No builder could be leased, or a builder command failed to run."""


@dataclass(frozen=True)
class BuildRequest:
    """What a builder runs: one task of one build (``chroot`` None for the source build)."""

    task_id: str
    build_id: int
    chroot: str | None
    tags: tuple[str, ...] = ()
    sandbox: str = ""

    @property
    def is_source(self) -> bool:
        return self.chroot is None


class LogFollower(Protocol):
    """A running ``copr-rpmbuild-log`` (a local process, or one on a remote builder)."""

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None:
        """The build's exit code once the log has ended, else None."""

    def wait(self, timeout: float | None = None) -> int:
        """The build's exit code, waiting up to ``timeout`` seconds for the log to end;
        raises :class:`subprocess.TimeoutExpired` when it has not (as ``Popen.wait``).
        """


class Builder(ABC):
    """One leased builder."""

    name: str
    # True when a build of this very task was already started here (a worker took over).
    attached: bool

    @abstractmethod
    def start(self, request: BuildRequest) -> None:
        """Start the build detached; returns once it runs (raises :class:`PoolError`)."""

    @abstractmethod
    def follow_log(self, output: IO[bytes]) -> LogFollower:
        """Stream the live log into ``output``; the process exits with the build's code."""

    @abstractmethod
    def is_running(self) -> bool:
        """Whether the build still runs."""

    @abstractmethod
    def build_pids(self) -> list[int]:
        """The build's processes (the build and all below it) as the builder's host
        numbers them: the backend's own pids for a local builder, the remote host's for
        another (meaningful only there; they come from ``copr-rpmbuild-status``).
        """

    @abstractmethod
    def cancel(self) -> None:
        """Stop the build and its whole process tree."""

    @abstractmethod
    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        """Copy the build's result files into ``destination``; the files copied.

        A file already in ``destination`` for which ``keep`` says True stays as it is
        (a package signed by an earlier worker of the task is not replaced).
        """

    def alive(self) -> bool:
        """Whether the builder is still there and answers (a remote one may die)."""
        return True


log = logging.getLogger(__name__)

BuilderT = TypeVar("BuilderT", bound=Builder)


def wait_for_builder(
    try_lease: Callable[[BuildRequest], BuilderT | None],
    request: BuildRequest,
    timeout: float,
    what: str,
    *,
    why: Callable[[], str] | None = None,
    pause: tuple[float, float] = (0.3, 0.8),
) -> BuilderT:
    """Ask ``try_lease`` until it gives a builder, for ``timeout`` seconds at most.

    ``what`` names the builders in the log and in the :class:`PoolError` of a timeout,
    which also says ``why()`` when that is not empty.  The pauses between tries are
    random, so that workers waiting together do not ask together.
    """
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        builder = try_lease(request)
        if builder is not None:
            return builder
        if not waiting:
            log.info("task %s: every %s is busy; waiting", request.task_id, what)
            waiting = True
        if time.monotonic() > deadline:
            details = why() if why is not None else ""
            raise PoolError(
                f"no free {what} within {timeout:g} s" + (f" ({details})" if details else "")
            )
        time.sleep(random.uniform(*pause))


class BuilderPool(ABC):
    """Leases builders to build workers and takes them back."""

    @abstractmethod
    def lease(self, request: BuildRequest, timeout: float) -> Builder:
        """A builder for ``request`` (the same one again for a task that has one)."""

    @abstractmethod
    def release(self, builder: Builder) -> None:
        """Give the builder back (the build on it has ended and was reported)."""

    @abstractmethod
    def forget(self, builder: Builder) -> None:
        """Let go of the builder but keep it for its task, whose report is still due."""

    def discard(self, builder: Builder) -> None:
        """Give up a builder that died (its task is rescheduled onto another one)."""
        self.release(builder)

    def warm_up(self) -> None:  # noqa: B027 - optional: most pools need nothing
        """Make ready, in a worker that has one thread yet, what its build will need."""

    def close(self) -> None:  # noqa: B027 - optional, as warm_up
        """Let go of what :meth:`warm_up` made (the worker is done)."""

    def held_tasks(self) -> set[str]:
        """The tasks :meth:`reap` keeps something for (it asks whether they are queued)."""
        return set()

    def reap(self, queued: Collection[str]) -> list[int]:
        """Free what builds that ended left held (their task ids are not in ``queued``,
        the frontend's pending jobs); run by the build dispatcher every round.  The
        leases freed (resalloc tickets); nothing for a pool whose builders free
        themselves.
        """
        return []


def create_pool(
    settings: BackendSettings, task_is_queued: Callable[[str], bool] | None = None
) -> BuilderPool:
    """The pool the settings name; ``task_is_queued`` tells whether the frontend still
    lists a task (a builder kept for a task it no longer lists may be given to another).
    """
    if settings.builder_pool == "local":
        from copr_backend.pools.local import LocalPool

        return LocalPool(settings, task_is_queued)
    if settings.builder_pool == "ssh":
        from copr_backend.pools.ssh import SshPool

        return SshPool(settings, task_is_queued)
    if settings.builder_pool == "resalloc":
        from copr_backend.pools.resalloc import create_resalloc_pool

        return create_resalloc_pool(settings)
    raise PoolError(f"unknown builder pool {settings.builder_pool!r}")
