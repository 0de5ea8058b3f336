"""Builds through the resalloc pool: a real resalloc-server whose pools' resources are
builder hosts (network namespaces with an sshd and copr-rpmbuild), driven over SSH.

Each test starts its own resalloc-server: its ``cmd_new`` makes a builder host that
reaches this test's frontend, dist-git and download server (their ports relayed into the
namespace), and its ``cmd_delete`` removes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from copr_backend.testing.helpers import (
    dnf,
    rpm_verify,
    running_build_dispatcher,
    slow_source,
    wait_for,
)
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.redis_keys import BUILD_MANAGER, index_key
from copr_common.testing.builder_hosts import BuilderHostFactory
from copr_common.testing.builder_hosts import processes as host_processes
from copr_common.testing.resalloc import (
    ResallocServer,
    builder_host_commands,
    find_resalloc,
    start_resalloc,
)
from copr_common.testing.services import ServiceRun
from copr_frontend.builds.transitions import cancel_build

RESALLOC_DIR, WHY_NOT = find_resalloc()
pytestmark = [pytest.mark.skipif(RESALLOC_DIR is None, reason=WHY_NOT), pytest.mark.slow]

CHROOT = "fedora-42-x86_64"
WORKERS = index_key(BUILD_MANAGER)


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


@dataclass
class ResallocStack:
    backend: Any
    resalloc: ResallocServer
    hosts_dir: Path
    prefix: str

    def worker_log(self, task_id: str) -> str:
        path = self.backend.settings.worker_log_dir / f"backend-build-worker-{task_id}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def address_of(self, task_id: str) -> str:
        """The builder the task's ticket names (from the ticket record the pool keeps)."""
        import json

        record = self.backend.settings.state_dir / "resalloc-tickets" / f"{task_id}.json"
        try:
            return str(json.loads(record.read_text() or "{}").get("address") or "")
        except FileNotFoundError:
            return ""  # no ticket taken yet

    def pool_of(self, address: str) -> str:
        """The resalloc pool whose ``cmd_new`` made the builder at ``address``."""
        # Addresses are reused: the last host made at the address (and by this stack).
        for line in reversed((self.hosts_dir / "resources.log").read_text().splitlines()):
            made_address, pool, name = line.split()
            if made_address == address and name.startswith(self.prefix):
                return pool
        raise AssertionError(f"no builder host was made at {address}")

    def host_of(self, address: str) -> str:
        """The builder host's name (its namespace) at ``address``."""
        return (self.hosts_dir / "by-address" / address).resolve().name


@pytest.fixture
def resalloc_stack(
    make_backend: Any,
    builder_hosts: BuilderHostFactory,
    frontend: Any,
    www: Any,
    distgit_url: str,
    service_run: ServiceRun,
) -> Iterator[Any]:
    made: list[ResallocStack] = []

    def make(pools: dict[str, dict[str, Any]] | None = None, **overrides: Any) -> ResallocStack:
        # The copr-rpmbuild settings the local pool's slots get, given to the hosts instead.
        settings = {**make_backend().settings.rpmbuild_settings, "frontend_url": frontend.url}
        prefix = f"{builder_hosts.prefix}r{len(made)}-"
        hosts_dir = builder_hosts.base_dir
        public_key = builder_hosts.key_file.with_name(builder_hosts.key_file.name + ".pub")
        cmd_new, cmd_delete = builder_host_commands(
            hosts_dir,
            public_key,
            settings,
            [_port(url) for url in (frontend.url, www.url, distgit_url)],
            prefix,
        )
        commands = {"cmd_new": cmd_new, "cmd_delete": cmd_delete, "max_starting": 2}
        pools = pools or {"x86_64": {"max": 2, "tags": ["copr_builder", "arch_x86_64"]}}
        server = start_resalloc(
            service_run,
            {name: {**commands, **pool} for name, pool in pools.items()},
            name=f"resalloc-{uuid.uuid4().hex[:8]}",
        )
        backend = make_backend(
            builder_pool="resalloc",
            resalloc_url=server.url,
            resalloc_timeout=10,
            resalloc_retry_for=30,
            ssh_known_hosts=str(hosts_dir / "known_hosts"),
            resalloc_ssh_user="root",
            resalloc_ssh_key_file=str(builder_hosts.key_file),
            resalloc_rpmbuild_config=f"{hosts_dir}/by-address/{{address}}/slot-0/rpmbuild.toml",
            builder_check_interval=1.0,
            **overrides,
        )
        stack = ResallocStack(backend, server, hosts_dir, prefix)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.resalloc.stop()


def _finished(db_session: Any, build: Any) -> Any:
    def finished() -> bool:
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed, StatusEnum.canceled)

    return finished


def test_an_srpm_built_on_resalloc_builders_is_signed_published_and_installable(
    factory, db_session, make_srpm, distgit, resalloc_stack, tmp_path
):
    stack = resalloc_stack()
    backend = stack.backend
    project = factory.project(name="hello", chroots=[CHROOT])
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello", "2.5")}
    )
    with running_build_dispatcher(backend):
        wait_for(_finished(db_session, build), 240, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    for task_id in (build.task_id, f"{build.id}-{CHROOT}"):
        log = stack.worker_log(task_id)
        assert log.count("took resalloc ticket") == 1, log
        assert log.count("starting on resalloc ticket") == 1, log

    project_dir = backend.settings.results_dir / project.ownername / "hello"
    chroot_dir = project_dir / CHROOT
    build_dir = chroot_dir / f"{build.id:08d}-hello"
    rpms = sorted(build_dir.glob("*.rpm"))
    assert [p.name for p in rpms] == ["hello-2.5-1.noarch.rpm", "hello-2.5-1.src.rpm"]
    pubkey = project_dir / "pubkey.gpg"
    for package in rpms:
        assert "digests signatures OK" in rpm_verify(package, pubkey, tmp_path / "rpmdb")
    assert (chroot_dir / "repodata" / "repomd.xml").exists()
    installed = dnf(
        tmp_path,
        f"{backend.settings.results_url}/{project.ownername}/hello/{CHROOT}/",
        pubkey,
        "install",
        "hello",
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert stack.resalloc.open_tickets() == []


def test_a_builder_host_killed_mid_build_gets_the_task_rescheduled_onto_a_new_one(
    factory, db_session, resalloc_stack
):
    stack = resalloc_stack()
    backend = stack.backend
    project = factory.project(name="dies")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("dies", 15)
    )
    with running_build_dispatcher(backend):

        def running() -> bool:
            db_session.expire_all()
            return build.source_status == StatusEnum.running and bool(
                stack.address_of(build.task_id)
            )

        wait_for(running, 120, "the build to run on a resalloc builder")
        first = stack.address_of(build.task_id)
        host = stack.host_of(first)
        # The builder host dies: its sshd and its namespace go.
        subprocess.run(
            [sys.executable, "-m", "copr_common.testing.builder_hosts", "delete", host,
             "--base-dir", str(stack.hosts_dir)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

        def imported() -> bool:
            db_session.expire_all()
            return build.source_status in (StatusEnum.importing, StatusEnum.failed)

        wait_for(imported, 240, "the source build to succeed elsewhere", interval=0.3)
    assert build.source_status == StatusEnum.importing, backend.worker_logs()
    log = backend.worker_logs()
    assert "rescheduling it" in log, log
    assert log.count("took resalloc ticket") == 2, log
    wait_for(lambda: stack.resalloc.open_tickets() == [], 30, "every ticket to be closed")


def _build_processes(host: str) -> list[str]:
    """The command lines of the build's processes on the builder host (its namespace)."""
    lines = []
    for pid in host_processes(host):
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        if "copr-rpmbuild" in line or "sleep" in line:
            lines.append(line)
    return lines


def test_a_canceled_remote_build_stops_on_its_builder_within_seconds(
    factory, db_session, resalloc_stack
):
    stack = resalloc_stack()
    backend = stack.backend
    project = factory.project(name="stop")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("stop", 300)
    )
    with running_build_dispatcher(backend):

        def sleeping() -> bool:
            address = stack.address_of(build.task_id)
            return bool(address) and any(
                "sleep" in line for line in _build_processes(stack.host_of(address))
            )

        wait_for(sleeping, 120, "the build to run on a resalloc builder")
        host = stack.host_of(stack.address_of(build.task_id))
        db_session.expire_all()
        asked = time.monotonic()
        assert cancel_build(db_session, build)
        db_session.commit()
        wait_for(lambda: not _build_processes(host), 10, "the build on the builder to stop")
        assert time.monotonic() - asked < 10

        def reported() -> bool:
            db_session.expire_all()
            return build.source_status == StatusEnum.canceled and not backend.redis.smembers(
                WORKERS
            )

        wait_for(reported, 30, "the worker to report the cancel")
    wait_for(lambda: stack.resalloc.open_tickets() == [], 30, "the ticket to be closed")


def test_a_task_tagged_on_demand_powerful_lands_only_on_the_pool_with_that_tag(
    factory, db_session, resalloc_stack
):
    tags = ["copr_builder", "arch_x86_64"]
    stack = resalloc_stack(
        pools={
            "plain": {"max": 1, "tags": tags},
            "powerful": {"max": 1, "tags": tags, "tags_on_demand": ["on_demand_powerful"]},
        }
    )
    project = factory.project(name="big", chroots=[CHROOT])
    package = factory.package(project, "big")
    # The package's own tags (copr-frontend builder-tags), as an admin gives them.
    package.builder_tags = ["on_demand_powerful"]
    db_session.commit()
    build = factory.build(
        project,
        package=package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.pending,
    )
    task_id = f"{build.id}-{CHROOT}"
    with running_build_dispatcher(stack.backend):
        wait_for(_finished(db_session, build), 240, "the build to finish", interval=0.3)
    log = stack.worker_log(task_id)
    assert "arch_x86_64, on_demand_powerful" in log, log
    (address,) = {line.rsplit(" ", 1)[-1] for line in log.splitlines() if " is builder " in line}
    assert stack.pool_of(address) == "powerful"
    wait_for(lambda: stack.resalloc.open_tickets() == [], 30, "the ticket to be closed")


def test_killed_dispatcher_and_worker_re_attach_to_the_build_on_the_same_builder(
    factory, db_session, resalloc_stack
):
    stack = resalloc_stack()
    backend = stack.backend
    project = factory.project(name="again")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("again", 10)
    )
    dispatcher = backend.spawn("build-dispatcher")

    def running_worker() -> int | None:
        db_session.expire_all()
        raw = backend.redis.hgetall(f"copr:backend-build:worker:{build.task_id}")
        record = {k.decode(): v.decode() for k, v in raw.items()}
        if record.get("pid") and build.source_status == StatusEnum.running:
            return int(record["pid"])
        return None

    pid = wait_for(running_worker, 120, "the worker to run the build on a resalloc builder")
    address = stack.address_of(build.task_id)
    os.kill(dispatcher.pid, signal.SIGKILL)
    dispatcher.wait(timeout=10)
    os.kill(pid, signal.SIGKILL)
    backend.spawn("build-dispatcher")

    def finished() -> bool:
        db_session.expire_all()
        return build.source_status == StatusEnum.importing and not backend.redis.smembers(WORKERS)

    wait_for(finished, 180, "the build to finish after its worker was killed")
    log = stack.worker_log(build.task_id)
    # One ticket, one build on its builder; the second worker re-attached to it.
    assert log.count("took resalloc ticket") == 1, log
    assert log.count("starting on resalloc ticket") == 1, log
    assert f"again, builder {address}" in log, log
    assert "re-attaching to its build on resalloc ticket" in log, log
    assert log.count(f"task {build.task_id} ended succeeded") == 1, log
    result_dir = (
        backend.settings.results_dir / project.ownername / "again" / "srpm-builds"
        / f"{build.id:08d}"
    )  # fmt: skip
    assert len(list(result_dir.glob("*.src.rpm"))) == 1
    wait_for(lambda: stack.resalloc.open_tickets() == [], 30, "the ticket to be closed")
