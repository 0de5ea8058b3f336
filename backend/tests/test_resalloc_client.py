"""The resalloc ticket client and the resalloc pool's tickets, against a real resalloc-server.

The server's pools have trivial ``cmd_new`` / ``cmd_delete`` commands (a resource is a
directory; its "address" is the directory's path), so these tests look at the tickets:
tags, persistence with the task, re-use after a restart, closing, the periodic check and
riding out a server outage.  The builds through SSH builder hosts are in
``test_resalloc_pool.py``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from copr_backend.pools import Builder, BuildRequest, PoolError
from copr_backend.pools.resalloc import ResallocBuilder, ResallocPool, ticket_tags
from copr_backend.pools.resalloc_client import ResallocClient, TicketFailed
from copr_backend.settings import BackendSettings
from copr_backend.testing.helpers import wait_for
from copr_common.testing.resalloc import ResallocServer, find_resalloc, start_resalloc
from copr_common.testing.services import ServiceRun

RESALLOC_DIR, WHY_NOT = find_resalloc()
pytestmark = pytest.mark.skipif(RESALLOC_DIR is None, reason=WHY_NOT)

# A resource is a directory under the pool's root: cmd_new makes it and prints its path,
# cmd_delete removes it (RESALLOC_RESOURCE_DATA is base64 of what cmd_new printed).
CMD_NEW = 'd="{root}/$RESALLOC_NAME"; mkdir -p "$d"; echo "$d"'
CMD_DELETE = 'rm -rf "$(echo "$RESALLOC_RESOURCE_DATA" | base64 -d)"'


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resources")


@pytest.fixture(scope="module")
def resalloc(service_run: ServiceRun, resources: Path) -> ResallocServer:
    def pool(name: str, **extra: object) -> dict[str, object]:
        root = resources / name
        root.mkdir()
        return {
            "max": 4,
            "max_starting": 2,
            "cmd_new": CMD_NEW.format(root=root),
            "cmd_delete": CMD_DELETE,
            **extra,
        }

    pools = {
        "x86_64": pool("x86_64", max_prealloc=1, tags=["copr_builder", "arch_x86_64"]),
        "powerful": pool(
            "powerful",
            tags=["copr_builder", "arch_x86_64"],
            tags_on_demand=["on_demand_powerful"],
        ),
    }
    return start_resalloc(service_run, pools, name="resalloc-tickets")


@pytest.fixture
def client(resalloc: ResallocServer) -> ResallocClient:
    return ResallocClient(resalloc.url, timeout=10, patience=30, poll_interval=0.2)


def _pool_of(address: str) -> str:
    return Path(address).parent.name


def test_a_ticket_is_taken_becomes_ready_with_the_builder_address_and_is_closed(
    client: ResallocClient, resalloc: ResallocServer
) -> None:
    ticket = client.take(["copr_builder", "arch_x86_64"], "user/project--user")
    address = client.wait(ticket, 60)
    assert Path(address).is_dir()
    assert _pool_of(address) == "x86_64"
    assert any(line.startswith(f"{ticket} ") for line in resalloc.open_tickets())
    client.close(ticket)
    assert not any(line.startswith(f"{ticket} ") for line in resalloc.open_tickets())
    # Closing twice, or a ticket the server never had, is not an error.
    client.close(ticket)
    client.close(999_999)


def test_a_ticket_that_no_pool_can_serve_times_out(client: ResallocClient) -> None:
    ticket = client.take(["copr_builder", "arch_s390x"])
    try:
        with pytest.raises(PoolError, match="not ready within 1 s"):
            client.wait(ticket, 1)
    finally:
        client.close(ticket)


def test_an_unknown_ticket_is_failed(client: ResallocClient) -> None:
    with pytest.raises(TicketFailed, match="unknown"):
        client.wait(999_999, 5)
    state = client.collect(999_999)
    assert not state.exists
    assert not state.usable


def test_an_unreachable_server_is_a_pool_error_after_its_patience(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from copr_common.testing.services import free_port

    client = ResallocClient(f"http://127.0.0.1:{free_port()}", timeout=1, patience=1.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(PoolError, match="did not answer"):
        client.take(["copr_builder"])
    assert time.monotonic() - started < 15
    # One warning for the outage, not one per attempt.
    outage = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage) == 1


def test_a_wrong_url_is_a_clear_error() -> None:
    from copr_common.testing.services import free_port

    # Something answers, but not XML-RPC: an HTTP server of another kind.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = ResallocClient(f"http://127.0.0.1:{port}", timeout=2, patience=1)

        def answers() -> bool:
            try:
                client.collect(1)
            except PoolError as error:
                return "did not answer" not in str(error)
            return True

        wait_for(answers, 10, "the HTTP server")
        with pytest.raises(PoolError, match="resalloc takeTicket"):
            client.take(["copr_builder"])
    finally:
        server.kill()
        server.wait()


def test_the_tags_of_a_task() -> None:
    rpm = BuildRequest("7-fedora-42-aarch64", 7, "fedora-42-aarch64", ("on_demand_powerful",))
    assert ticket_tags(rpm, "x86_64") == ["copr_builder", "arch_aarch64", "on_demand_powerful"]
    source = BuildRequest("7", 7, None, ("copr_builder",))
    assert ticket_tags(source, "x86_64") == ["copr_builder", "arch_x86_64"]


# --- the pool's tickets, with a stand-in for the SSH builder -------------------------------


class DirBuilder(Builder):
    """Stands in for an SSH builder: the "host" is a directory; a build is a marker file."""

    def __init__(self, address: str, request: BuildRequest) -> None:
        self.dir = Path(address)
        self.name = f"dir:{self.dir.name}"
        self.attached = (self.dir / "task").exists() and (
            (self.dir / "task").read_text() == request.task_id
        )

    def start(self, request: BuildRequest) -> None:
        (self.dir / "task").write_text(request.task_id)

    def follow_log(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["true"], stdout=output)

    def is_running(self) -> bool:
        return False

    def build_pids(self) -> list[int]:
        return []

    def cancel(self) -> None:
        pass

    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        return []

    def alive(self) -> bool:
        return self.dir.is_dir()


class DirConnector:
    def __init__(self) -> None:
        self.disconnected: list[str] = []

    def connect(self, address: str, request: BuildRequest) -> Builder:
        if not Path(address).is_dir():
            raise PoolError(f"{address}: no route to host")
        return DirBuilder(address, request)

    def alive(self, builder: Builder) -> bool:
        return builder.alive()

    def done(self, builder: Builder) -> None:
        self.disconnected.append(builder.name)

    def disconnect(self, builder: Builder) -> None:
        self.disconnected.append(builder.name)


@pytest.fixture
def pool(resalloc: ResallocServer, tmp_path: Path) -> Iterator[ResallocPool]:
    settings = BackendSettings(
        builder_pool="resalloc",
        resalloc_url=resalloc.url,
        resalloc_timeout=10,
        resalloc_retry_for=30,
        state_dir=tmp_path / "state",
        # Unused by the stand-in connector; the settings want them for the SSH one.
        ssh_known_hosts=tmp_path / "known_hosts",
        resalloc_ssh_key_file=tmp_path / "id_ed25519",
    )
    client = ResallocClient(resalloc.url, timeout=10, patience=30, poll_interval=0.2)
    pool = ResallocPool(settings, DirConnector(), client)
    yield pool
    for ticket in pool.tickets().values():
        client.close(ticket)


def _request(task_id: str = "41-fedora-42-x86_64", tags: tuple[str, ...] = ()) -> BuildRequest:
    build_id, _, chroot = task_id.partition("-")
    return BuildRequest(task_id, int(build_id), chroot or None, tags, "user/p--user")


def test_the_ticket_is_kept_with_the_task_and_a_new_worker_gets_the_same_builder(
    pool: ResallocPool, resalloc: ResallocServer
) -> None:
    request = _request()
    first = pool.lease(request, 60)
    assert isinstance(first, ResallocBuilder)
    assert not first.attached
    first.start(request)
    ticket = pool.tickets()[request.task_id]
    assert ticket == first.ticket
    # The worker dies (its lock goes with it): the next worker of the task re-attaches.
    first.record.unlock()
    second = pool.lease(request, 60)
    assert isinstance(second, ResallocBuilder)
    assert (second.ticket, second.address) == (first.ticket, first.address)
    assert second.attached
    pool.release(second)
    assert request.task_id not in pool.tickets()
    assert not any(line.startswith(f"{ticket} ") for line in resalloc.open_tickets())


def test_forget_keeps_the_ticket_and_the_periodic_check_closes_it_once_the_task_ended(
    pool: ResallocPool, resalloc: ResallocServer
) -> None:
    request = _request("42-fedora-42-x86_64")
    builder = pool.lease(request, 60)
    assert isinstance(builder, ResallocBuilder)
    # Held by a live worker: never closed, even when the frontend no longer lists it.
    assert pool.reap(set()) == []
    pool.forget(builder)
    # What the dispatcher asks the frontend about when its page does not list the task.
    assert pool.held_tasks() == {request.task_id}
    # Still pending (its report is due): kept.
    assert pool.reap({request.task_id}) == []
    assert request.task_id in pool.tickets()
    # The task ended: closed.
    assert pool.reap(set()) == [builder.ticket]
    assert pool.tickets() == {}
    assert pool.held_tasks() == set()
    assert not any(line.startswith(f"{builder.ticket} ") for line in resalloc.open_tickets())


def test_a_dead_builder_is_discarded_and_the_next_lease_takes_a_new_ticket(
    pool: ResallocPool, resalloc: ResallocServer
) -> None:
    request = _request("43-fedora-42-x86_64")
    builder = pool.lease(request, 60)
    assert isinstance(builder, ResallocBuilder)
    assert builder.alive()
    # The builder host goes away (cmd_delete would do this; here its directory vanishes).
    Path(builder.address).rename(Path(builder.address + ".dead"))
    assert not builder.alive()
    pool.discard(builder)
    assert not any(line.startswith(f"{builder.ticket} ") for line in resalloc.open_tickets())
    again = pool.lease(request, 60)
    assert isinstance(again, ResallocBuilder)
    assert again.ticket != builder.ticket
    assert not again.attached
    pool.release(again)


def test_a_kept_ticket_whose_builder_is_unreachable_is_replaced(
    pool: ResallocPool, resalloc: ResallocServer
) -> None:
    request = _request("44-fedora-42-x86_64")
    builder = pool.lease(request, 60)
    assert isinstance(builder, ResallocBuilder)
    pool.forget(builder)
    Path(builder.address).rename(Path(builder.address + ".gone"))
    again = pool.lease(request, 60)
    assert isinstance(again, ResallocBuilder)
    assert again.ticket != builder.ticket
    assert not any(line.startswith(f"{builder.ticket} ") for line in resalloc.open_tickets())
    pool.release(again)


def test_a_task_tagged_on_demand_powerful_lands_only_on_the_powerful_pool(
    pool: ResallocPool,
) -> None:
    request = _request("45-fedora-42-x86_64", ("on_demand_powerful",))
    builder = pool.lease(request, 90)
    assert isinstance(builder, ResallocBuilder)
    assert _pool_of(builder.address) == "powerful"
    plain = pool.lease(_request("46-fedora-42-x86_64"), 60)
    assert isinstance(plain, ResallocBuilder)
    assert _pool_of(plain.address) == "x86_64"
    pool.release(builder)
    pool.release(plain)


def test_a_ticket_for_an_arch_no_pool_has_fails_the_lease_and_leaks_nothing(
    pool: ResallocPool, resalloc: ResallocServer
) -> None:
    before = len(resalloc.open_tickets())
    with pytest.raises(PoolError, match="not ready"):
        pool.lease(_request("47-fedora-42-s390x"), 2)
    assert pool.tickets() == {}
    assert len(resalloc.open_tickets()) == before


def test_a_server_restart_is_ridden_out(pool: ResallocPool, resalloc: ResallocServer) -> None:
    request = _request("48-fedora-42-x86_64")
    builder = pool.lease(request, 60)
    assert isinstance(builder, ResallocBuilder)
    resalloc.stop()
    try:
        # The server being away says nothing of the builder.
        assert builder.alive()
    finally:
        resalloc.start()
    pool.release(builder)
    assert not any(line.startswith(f"{builder.ticket} ") for line in resalloc.open_tickets())


def test_bad_task_ids_are_refused(pool: ResallocPool) -> None:
    with pytest.raises(PoolError, match="bad task id"):
        pool.lease(_request("49-../../etc"), 5)


# --- the worker gives up a dead builder and has the frontend reschedule the task ----------


class SleepingDirBuilder(DirBuilder):
    """A build that runs until the "host" (its directory) goes away."""

    def follow_log(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        script = f'while [ -d "{self.dir}" ]; do sleep 0.2; done; exit 3'
        return subprocess.Popen(["sh", "-c", script], stdout=output)


class SleepingDirConnector(DirConnector):
    def connect(self, address: str, request: BuildRequest) -> Builder:
        super().connect(address, request)
        return SleepingDirBuilder(address, request)


@pytest.mark.slow
def test_a_worker_whose_builder_dies_closes_the_ticket_and_reschedules_the_task(
    resalloc: ResallocServer, make_backend, factory, db_session, tmp_path
) -> None:
    import threading

    from copr_backend.builds.worker import BuildWorker
    from copr_backend.createrepo import Createrepo
    from copr_backend.frontend import frontend_client
    from copr_backend.signing import create_signer
    from copr_common.enums import StatusEnum

    backend = make_backend(
        builder_pool="resalloc",
        resalloc_url=resalloc.url,
        builder_check_interval=0.5,
        ssh_known_hosts=str(tmp_path / "known_hosts"),
        resalloc_ssh_key_file=str(tmp_path / "id_ed25519"),
    )
    settings = backend.settings
    client = ResallocClient(resalloc.url, timeout=10, patience=30, poll_interval=0.2)
    pool = ResallocPool(settings, SleepingDirConnector(), client)
    frontend = frontend_client(settings)
    worker = BuildWorker(
        settings, frontend, pool, create_signer(settings), Createrepo(settings.createrepo_dir)
    )
    project = factory.project(name="dies")
    build = factory.build(project)
    queued = {"task_id": str(build.id), "build_id": build.id, "chroot": None}
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(worker.run(queued)), daemon=True)
    thread.start()

    def running() -> bool:
        db_session.expire_all()
        return build.source_status == StatusEnum.running and bool(pool.tickets())

    wait_for(running, 60, "the build to run on a resalloc builder")
    ticket = pool.tickets()[str(build.id)]
    address = client.collect(ticket).output
    Path(address).rename(Path(address + ".dead"))  # the builder host dies
    thread.join(timeout=60)
    assert result["outcome"] == "rescheduled", result
    db_session.expire_all()
    assert build.source_status == StatusEnum.pending
    assert pool.tickets() == {}
    assert not any(line.startswith(f"{ticket} ") for line in resalloc.open_tickets())


def test_the_resalloc_pool_needs_a_known_hosts_file_and_a_key(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs ssh_known_hosts and resalloc_ssh_key_file"):
        BackendSettings(builder_pool="resalloc", ssh_known_hosts=tmp_path / "known_hosts")
    with pytest.raises(ValidationError, match="resalloc_url"):
        BackendSettings(resalloc_url="localhost:49100")
