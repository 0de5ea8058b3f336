"""The resalloc pool: builders leased as tickets from a resalloc server, driven over SSH.

A worker that leases a builder for its task takes a ticket with the tags
``copr_builder``, ``arch_<arch>`` and the task's own (a project chroot's or package's
``on_demand_powerful``, say), waits until the server has a builder for it — the ticket's
output is the builder's address — and hands the address to a :class:`HostConnector`
(the SSH builder), which runs the build there.  Releasing the builder closes the ticket.

The ticket is kept with the task on this host's disk, in
``<state_dir>/resalloc-tickets/<task_id>.json``, written as soon as the ticket is taken.
So a worker that dies leaks nothing: the worker that takes the task over finds the
ticket, gets the same builder and re-attaches to the build there.  The record is
``flock``-ed by the worker that has it, so :meth:`ResallocPool.reap` — which the build
dispatcher runs every round — knows which records no live worker holds, and closes the
tickets of those whose tasks the frontend no longer lists (they ended, were canceled or
deleted) or whose builder died.

A builder that dies or stops answering makes :meth:`ResallocBuilder.alive` false; the
worker then :meth:`~ResallocPool.discard` s it (the ticket is closed) and has the frontend
reschedule the task (``/backend/reschedule_build_chroot/``), which another builder runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO, Any, Protocol

from copr_backend.pools import Builder, BuilderPool, BuildRequest, LogFollower, PoolError
from copr_backend.pools.resalloc_client import ResallocClient, TicketFailed
from copr_backend.pools.ssh import SshBuilder, SshPool
from copr_backend.settings import BackendSettings, SshBuilderHost
from copr_common.files import lock_file

log = logging.getLogger(__name__)

# How long a look at a builder waits for a starting build there to say its task.
_TASK_ID_WAIT = 10.0


class HostConnector(Protocol):
    """Runs builds on a builder host known by its address (the SSH builder)."""

    def connect(self, address: str, request: BuildRequest) -> Builder:
        """A builder on the host at ``address`` for ``request``; ``attached`` when the
        host already runs (or ran) this very task.  Raises :class:`PoolError` when the
        host cannot be reached.
        """
        ...

    def alive(self, builder: Builder) -> bool:
        """Whether the builder's host still answers."""
        ...

    def done(self, builder: Builder) -> None:
        """The build on the host was reported: clean up there (the host may be reused
        for another build of the same sandbox) and close the connection.
        """
        ...

    def disconnect(self, builder: Builder) -> None:
        """Close the connection to the builder's host (the build there goes on)."""
        ...


def ticket_tags(request: BuildRequest, source_arch: str) -> list[str]:
    """The tags a ticket for ``request`` asks for: ``copr_builder``, ``arch_<arch>``
    (a source build runs on a ``source_arch`` builder) and the task's own tags.
    """
    arch = source_arch if request.chroot is None else request.chroot.rsplit("-", 1)[-1]
    tags = ["copr_builder", f"arch_{arch}"]
    tags += [tag for tag in request.tags if tag not in tags]
    return tags


class TicketRecord:
    """``<task_id>.json``: the ticket kept with a task, locked by the worker that has it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def task_id(self) -> str:
        return self.path.stem

    def lock(self, *, block: bool = False) -> bool:
        """Take the record's lock (creating the record); False when another holds it."""
        # The reaper may remove the record while this waits: lock_file then takes the new.
        self._fd = lock_file(self.path, block=block)
        return self._fd is not None

    def unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self) -> dict[str, Any]:
        if self._fd is None:
            raise RuntimeError("read an unlocked ticket record")
        os.lseek(self._fd, 0, os.SEEK_SET)
        raw = b""
        while chunk := os.read(self._fd, 65536):
            raw += chunk
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            log.warning("%s is not JSON; taken as empty", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        """Replace the record's content (in place: the lock is on this very file)."""
        if self._fd is None:
            raise RuntimeError("write an unlocked ticket record")
        raw = json.dumps(data, sort_keys=True).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, raw, 0)
        os.fsync(self._fd)

    def remove(self) -> None:
        """Delete the record (still locked: whoever waits for it sees it gone)."""
        self.path.unlink(missing_ok=True)
        self.unlock()


class ResallocBuilder(Builder):
    """A builder of a resalloc ticket: the host's builder, plus the ticket."""

    def __init__(
        self, pool: ResallocPool, record: TicketRecord, ticket: int, address: str, inner: Builder
    ) -> None:
        self.pool = pool
        self.record = record
        self.ticket = ticket
        self.address = address
        self.inner = inner
        self.attached = inner.attached
        self.name = f"resalloc ticket {ticket} ({inner.name})"

    def start(self, request: BuildRequest) -> None:
        self.inner.start(request)
        self.attached = self.inner.attached

    def follow_log(self, output: IO[bytes]) -> LogFollower:
        return self.inner.follow_log(output)

    def is_running(self) -> bool:
        return self.inner.is_running()

    def build_pids(self) -> list[int]:
        return self.inner.build_pids()

    def cancel(self) -> None:
        self.inner.cancel()

    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        return self.inner.fetch_results(destination, keep)

    def alive(self) -> bool:
        """Whether the ticket still holds its builder and the builder answers."""
        try:
            # One try: the worker asks again at its next check anyway.
            state = self.pool.client.collect(self.ticket, patience=0)
        except PoolError as error:
            # The resalloc server being away says nothing of the builder.
            log.debug("cannot look at ticket %d: %s", self.ticket, error)
            return self.pool.connector.alive(self.inner)
        if not state.usable:
            log.warning("%s: the ticket is %s", self.name, "failed" if state.failed else "gone")
            return False
        return self.pool.connector.alive(self.inner)


class ResallocPool(BuilderPool):
    """Builders from tickets of the resalloc server at ``settings.resalloc_url``."""

    def __init__(
        self,
        settings: BackendSettings,
        connector: HostConnector,
        client: ResallocClient | None = None,
    ) -> None:
        self.settings = settings
        self.connector = connector
        self.client = client or ResallocClient(
            settings.resalloc_url,
            timeout=settings.resalloc_timeout,
            patience=settings.resalloc_retry_for,
        )
        self.records_dir = settings.state_dir / "resalloc-tickets"

    def record(self, task_id: str) -> TicketRecord:
        if "/" in task_id or task_id.startswith("."):
            raise PoolError(f"bad task id {task_id!r}")
        return TicketRecord(self.records_dir / f"{task_id}.json")

    def tickets(self) -> dict[str, int]:
        """The ticket kept for each task (read without the records' locks)."""
        found: dict[str, int] = {}
        for path in sorted(self.records_dir.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                found[path.stem] = int(json.loads(path.read_text())["ticket"])
        return found

    # --- leasing -----------------------------------------------------------------------------

    def lease(self, request: BuildRequest, timeout: float) -> Builder:
        deadline = time.monotonic() + timeout
        self.records_dir.mkdir(parents=True, exist_ok=True)
        record = self.record(request.task_id)
        while not record.lock():
            # Only the reaper, for a moment (a live worker of this task would hold the
            # task's worker lock, and this worker would not run).
            if time.monotonic() > deadline:
                raise PoolError(f"the ticket record of {request.task_id} stays locked")
            time.sleep(0.2)
        try:
            return self._lease_locked(record, request, deadline)
        except BaseException:
            record.unlock()
            raise

    def _lease_locked(
        self, record: TicketRecord, request: BuildRequest, deadline: float
    ) -> ResallocBuilder:
        kept = record.read().get("ticket")
        if isinstance(kept, int):
            try:
                address = self.client.wait(kept, max(1.0, deadline - time.monotonic()))
                inner = self.connector.connect(address, request)
            except TicketFailed as error:
                log.warning("task %s: %s; taking a new ticket", request.task_id, error)
            except PoolError as error:
                # Its builder is unreachable (or never came): whatever ran there is lost.
                log.warning("task %s: ticket %d: %s; taking a new ticket", request.task_id,
                            kept, error)  # fmt: skip
                self._close(kept)
            else:
                log.info("task %s: ticket %d again, builder %s", request.task_id, kept, address)
                return ResallocBuilder(self, record, kept, address, inner)
        tags = ticket_tags(request, self.settings.resalloc_source_arch)
        ticket = self.client.take(tags, request.sandbox or None)
        # Kept before waiting: a worker that dies now still leaves the ticket known.
        record.write({"ticket": ticket, "tags": tags, "taken": int(time.time())})
        log.info("task %s: took resalloc ticket %d (%s)", request.task_id, ticket, ", ".join(tags))
        try:
            address = self.client.wait(ticket, max(1.0, deadline - time.monotonic()))
            inner = self.connector.connect(address, request)
        except PoolError:
            self._close(ticket)
            record.write({})
            raise
        record.write({**record.read(), "address": address})
        log.info("task %s: ticket %d is builder %s", request.task_id, ticket, address)
        return ResallocBuilder(self, record, ticket, address, inner)

    def _close(self, ticket: int) -> None:
        try:
            self.client.close(ticket)
        except PoolError as error:
            # The record stays (or the reaper finds the task ended) and tries again.
            log.error("cannot close resalloc ticket %d: %s", ticket, error)
            raise

    def _own(self, builder: Builder) -> ResallocBuilder:
        if not isinstance(builder, ResallocBuilder) or builder.pool is not self:
            raise PoolError(f"{builder!r} is not a builder leased from this pool")
        return builder

    def release(self, builder: Builder) -> None:
        ours = self._own(builder)
        with contextlib.suppress(PoolError, OSError):
            self.connector.done(ours.inner)
        self._end(ours)

    def _end(self, ours: ResallocBuilder) -> None:
        try:
            self._close(ours.ticket)
        except PoolError:
            # The record stays: the reaper closes the ticket once the server is back.
            ours.record.unlock()
            return
        ours.record.remove()

    def discard(self, builder: Builder) -> None:
        """The builder died: close its ticket (resalloc deletes it), forget the record."""
        ours = self._own(builder)
        with contextlib.suppress(PoolError, OSError):
            self.connector.disconnect(ours.inner)
        self._end(ours)

    def forget(self, builder: Builder) -> None:
        ours = self._own(builder)
        with contextlib.suppress(PoolError):
            self.connector.disconnect(ours.inner)
        ours.record.unlock()

    # --- the periodic check ------------------------------------------------------------------

    def held_tasks(self) -> set[str]:
        return {TicketRecord(path).task_id for path in self.records_dir.glob("*.json")}

    def reap(self, queued: Collection[str]) -> list[int]:
        """Close the tickets no worker holds whose task is not in ``queued`` (the
        frontend's pending jobs: it ended) or whose builder is gone; the tickets closed.
        """
        closed: list[int] = []
        for path in sorted(self.records_dir.glob("*.json")):
            record = TicketRecord(path)
            if not record.lock():
                continue  # a live worker has it
            try:
                ticket = record.read().get("ticket")
                if not isinstance(ticket, int):
                    if record.task_id not in queued:
                        record.remove()
                    continue
                if record.task_id in queued and self.client.collect(ticket).usable:
                    continue
                log.info("closing resalloc ticket %d of task %s", ticket, record.task_id)
                self.client.close(ticket)
                record.remove()
                closed.append(ticket)
            except PoolError as error:
                log.warning("ticket check of task %s: %s", record.task_id, error)
            finally:
                record.unlock()
        return closed


class SshConnector:
    """Reaches resalloc builders over SSH as the ssh pool reaches its hosts, one build
    at a time each: as ``resalloc_ssh_user`` with ``resalloc_ssh_key_file``, host keys
    checked against ``ssh_known_hosts``, copr-rpmbuild's settings at
    ``resalloc_rpmbuild_config`` (``{address}`` is the builder's address).
    """

    def __init__(self, settings: BackendSettings) -> None:
        key_file = settings.resalloc_ssh_key_file
        if settings.ssh_known_hosts is None or key_file is None:
            raise PoolError(
                'builder_pool = "resalloc" needs ssh_known_hosts and resalloc_ssh_key_file'
            )
        self.settings = settings
        self.key_file: Path = key_file
        self.ssh = SshPool(settings)

    def host(self, address: str) -> SshBuilderHost:
        return SshBuilderHost(
            name=address,
            address=address,
            port=self.settings.resalloc_ssh_port,
            user=self.settings.resalloc_ssh_user,
            key_file=self.key_file,
            max_builds=1,
            rpmbuild_config=self.settings.resalloc_rpmbuild_config.replace("{address}", address),
        )

    def connect(self, address: str, request: BuildRequest) -> Builder:
        host = self.host(address)
        connection = self.ssh.connect(host)
        try:
            # A starting build says its task within seconds (a worker died starting it).
            status = self.ssh.slot_status(connection, host, 0, _TASK_ID_WAIT)
        except PoolError:
            connection.close()
            raise
        attached = status.task_id == request.task_id and (status.busy or bool(status.result_files))
        return SshBuilder(self.ssh, host, 0, request.task_id, attached, connection, None)

    def alive(self, builder: Builder) -> bool:
        if not isinstance(builder, SshBuilder):
            return builder.alive()
        timeout = self.settings.ssh_connect_timeout
        try:
            code, _, _ = builder.connection.run(["true"], timeout=timeout)
        except PoolError as error:
            log.warning("%s does not answer over its connection: %s", builder.name, error)
        else:
            return code == 0
        # The connection may be what broke: a host that takes a new one is alive.
        try:
            self.ssh.connect(builder.host).close()
        except PoolError as error:
            log.warning("%s is gone: %s", builder.name, error)
            return False
        return True

    def done(self, builder: Builder) -> None:
        if isinstance(builder, SshBuilder):
            try:
                builder.clean()
            finally:
                builder.connection.close()

    def disconnect(self, builder: Builder) -> None:
        if isinstance(builder, SshBuilder):
            builder.connection.close()


def create_resalloc_pool(settings: BackendSettings) -> ResallocPool:
    """The resalloc pool the settings describe, driving its builders over SSH."""
    return ResallocPool(settings, SshConnector(settings))
