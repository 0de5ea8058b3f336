"""The ssh pool on builder hosts: network namespaces with an sshd and copr-rpmbuild.

The backend reaches each host only over SSH (its services reach back through the host's
relay of their loopback ports): builds run there, their live log and results come back
over the connection.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.testing.builder_hosts import BuilderHost, BuilderHostFactory
from copr_common.worker_manager import process_start_time
from copr_frontend.builds.transitions import cancel_build

sys.path.insert(0, str(Path(__file__).parent))

from backend_helpers import rpm_verify, running_build_dispatcher, slow_source, wait_for
from test_full_flow import _dnf

from copr_backend.pools import BuildRequest, PoolError
from copr_backend.pools.ssh import SshPool

CHROOT = "fedora-42-x86_64"
WORKERS = "copr:backend-build:workers"
SLOW_SCRIPT = "#!/bin/sh\necho started-sleeping\nsleep 300\n"


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def _ssh_backend(
    make_backend: Any,
    builder_hosts: BuilderHostFactory,
    urls: list[str],
    tmp_path: Path,
    count: int = 1,
    **overrides: Any,
) -> tuple[Any, list[BuilderHost]]:
    """A backend whose builds run on ``count`` new builder hosts (one build at once each)."""
    frontend_url = urls[0]
    # The copr-rpmbuild settings the local pool's slots get, given to the hosts instead.
    settings = {**make_backend().settings.rpmbuild_settings, "frontend_url": frontend_url}
    hosts = [
        builder_hosts.create(rpmbuild_settings=settings, forward_ports=[_port(url) for url in urls])
        for _ in range(count)
    ]
    known = builder_hosts.known_hosts(tmp_path / "known_hosts")
    ssh_hosts = [
        {
            "name": f"builder{index}",
            "address": host.address,
            "user": host.user,
            "key_file": str(builder_hosts.key_file),
            "arches": ["x86_64"],
            "rpmbuild_config": str(host.rpmbuild_config()),
        }
        for index, host in enumerate(hosts)
    ]
    backend = make_backend(
        builder_pool="ssh", ssh_hosts=ssh_hosts, ssh_known_hosts=str(known), **overrides
    )
    return backend, hosts


def _worker_log(backend: Any, task_id: str) -> str:
    path = backend.settings.worker_log_dir / f"backend-build-worker-{task_id}.log"
    return path.read_text(errors="replace")


def _remote_status(host: BuilderHost, key: Path) -> dict[str, Any]:
    """copr-rpmbuild-status on the host, asked over ssh as an operator would."""
    result = subprocess.run(
        [
            "ssh", "-i", str(key), "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={host.path / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", f"{host.user}@{host.address}",
            "copr-rpmbuild-status", "-c", str(host.rpmbuild_config()),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.slow
def test_srpm_built_on_ssh_builders_is_signed_published_and_installable(
    factory, db_session, make_backend, make_srpm, distgit, distgit_url, frontend, www, tmp_path,
    builder_hosts,
):  # fmt: skip
    backend, hosts = _ssh_backend(
        make_backend, builder_hosts, [frontend.url, www.url, distgit_url], tmp_path, count=2
    )
    project = factory.project(name="hello", chroots=[CHROOT])
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello", "2.5")}
    )

    def finished():
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed, StatusEnum.canceled)

    with running_build_dispatcher(backend):
        wait_for(finished, 180, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    for task_id in (build.task_id, f"{build.id}-{CHROOT}"):
        log = _worker_log(backend, task_id)
        assert log.count("starting on builder") == 1, log

    project_dir = backend.settings.results_dir / project.ownername / "hello"
    chroot_dir = project_dir / CHROOT
    build_dir = chroot_dir / f"{build.id:08d}-hello"
    rpms = sorted(build_dir.glob("*.rpm"))
    assert [p.name for p in rpms] == ["hello-2.5-1.noarch.rpm", "hello-2.5-1.src.rpm"]
    pubkey = project_dir / "pubkey.gpg"
    for package in rpms:
        assert "digests signatures OK" in rpm_verify(package, pubkey, tmp_path / "rpmdb")
    assert (build_dir / "builder-live.log.gz").exists()
    assert (chroot_dir / "repodata" / "repomd.xml").exists()
    # Released builders hold nobody's results: their result dirs were emptied over SFTP.
    for host in hosts:
        (host.path / "known_hosts").write_text(host.known_hosts_line())
        status = _remote_status(host, builder_hosts.key_file)
        assert (status["busy"], status["result_files"]) == (False, [])

    repo_url = f"{backend.settings.results_url}/{project.ownername}/hello/{CHROOT}/"
    installed = _dnf(tmp_path, repo_url, pubkey, "install", "hello")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    readme = tmp_path / "installroot" / "usr" / "share" / "hello" / "README"
    assert readme.read_text() == "hello 2.5\n"


def test_remote_build_is_canceled_on_the_host_within_seconds(
    factory, db_session, make_backend, frontend, www, distgit_url, tmp_path, builder_hosts
):
    backend, _ = _ssh_backend(
        make_backend, builder_hosts, [frontend.url, www.url, distgit_url], tmp_path
    )
    project = factory.project(name="slow")
    build = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": SLOW_SCRIPT, "chroot": CHROOT},
    )
    live_log = (
        backend.settings.results_dir / project.ownername / "slow" / "srpm-builds"
        / f"{build.id:08d}" / "builder-live.log"
    )  # fmt: skip
    with running_build_dispatcher(backend):

        def sleeping():
            return live_log.exists() and "started-sleeping" in live_log.read_text()

        wait_for(sleeping, 60, "the script to run (the live log streamed back over ssh)")
        builder = SshPool(backend.settings).find(build.task_id)
        assert builder is not None
        # The host's pids; its namespace shares this machine's pid numbers.
        pids = builder.build_pids()
        builder.connection.close()
        assert len(pids) > 1
        starts = {pid: process_start_time(pid) for pid in pids}

        db_session.expire_all()
        asked = time.monotonic()
        assert cancel_build(db_session, build)
        db_session.commit()

        def gone():
            return all(process_start_time(pid) != start for pid, start in starts.items())

        wait_for(gone, 10, "the build's process tree on the host to be gone")
        assert time.monotonic() - asked < 10

        def reported():
            db_session.expire_all()
            return build.source_status == StatusEnum.canceled and not backend.redis.smembers(
                WORKERS
            )

        wait_for(reported, 30, "the worker to report the cancel")
    assert (live_log.parent / "builder-live.log.gz").exists()


@pytest.mark.slow
def test_killed_worker_re_attaches_to_the_remote_build(
    factory, db_session, make_backend, frontend, www, distgit_url, tmp_path, builder_hosts
):
    backend, _ = _ssh_backend(
        make_backend, builder_hosts, [frontend.url, www.url, distgit_url], tmp_path
    )
    project = factory.project(name="again")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("again", 6)
    )
    with running_build_dispatcher(backend):

        def running_worker():
            db_session.expire_all()
            raw = backend.redis.hgetall(f"copr:backend-build:worker:{build.task_id}")
            record = {k.decode(): v.decode() for k, v in raw.items()}
            if record.get("pid") and build.source_status == StatusEnum.running:
                return int(record["pid"])
            return None

        pid = wait_for(running_worker, 60, "the worker to run the build")
        os.kill(pid, signal.SIGKILL)

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing and not backend.redis.smembers(
                WORKERS
            )

        wait_for(finished, 90, "the build to finish after its worker was killed")
    log = _worker_log(backend, build.task_id)
    assert log.count("starting on builder0") == 1, log
    assert "re-attaching to its build on builder0" in log
    assert log.count(f"task {build.task_id} ended succeeded") == 1, log
    result_dir = (
        backend.settings.results_dir / project.ownername / "again" / "srpm-builds"
        / f"{build.id:08d}"
    )  # fmt: skip
    assert len(list(result_dir.glob("*.src.rpm"))) == 1
    live = subprocess.run(
        ["gzip", "-dc", str(result_dir / "builder-live.log.gz")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert live.stdout.count("started-sleeping") == 1


def test_unknown_or_changed_host_key_is_refused(make_backend, tmp_path, builder_hosts):
    first = builder_hosts.create()
    second = builder_hosts.create()
    request = BuildRequest(task_id="7", build_id=7, chroot=None)

    def pool_with(known_hosts: str) -> SshPool:
        known = tmp_path / "known_hosts"
        known.write_text(known_hosts)
        host = {
            "name": "builder0",
            "address": first.address,
            "user": "root",
            "key_file": str(builder_hosts.key_file),
            "rpmbuild_config": str(first.rpmbuild_config()),
        }
        backend = make_backend(builder_pool="ssh", ssh_hosts=[host], ssh_known_hosts=str(known))
        return SshPool(backend.settings)

    # Only the other host is known: this one's key is never learned.
    unknown = pool_with(second.known_hosts_line())
    with pytest.raises(PoolError, match="host key of .* is not in .*known_hosts: refused"):
        unknown.lease(request, timeout=1)
    assert (tmp_path / "known_hosts").read_text() == second.known_hosts_line()
    # Another host's key under this host's address: refused too.
    address = first.address
    swapped = second.known_hosts_line().replace(second.address, address, 1)
    with pytest.raises(PoolError, match="host key of .* differs"):
        pool_with(swapped).lease(request, timeout=1)
    # With its own key the same host is leased.
    builder = pool_with(first.known_hosts_line()).lease(request, timeout=10)
    assert (builder.name, builder.attached) == ("builder0/0", False)
    builder.pool.release(builder)


def test_incompatible_copr_rpmbuild_is_refused_with_a_reason(
    factory, db_session, make_backend, frontend, www, distgit_url, tmp_path, builder_hosts
):
    backend, hosts = _ssh_backend(
        make_backend,
        builder_hosts,
        [frontend.url, www.url, distgit_url],
        tmp_path,
        builder_min_version="99.0",
    )
    project = factory.project(name="old")
    build = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": SLOW_SCRIPT, "chroot": CHROOT},
    )

    def failed():
        db_session.expire_all()
        return build.source_status == StatusEnum.failed and not backend.redis.smembers(WORKERS)

    with running_build_dispatcher(backend):
        wait_for(failed, 60, "the build to fail")
    assert "copr-rpmbuild 0.1.0 is not compatible" in (
        build.fail_reason or ""
    ), backend.worker_logs()
    assert "needs 99.0 or later" in build.fail_reason
    # Nothing ran on the host.
    assert not (hosts[0].rpmbuild_config().parent / "state" / "pid").exists()


def _session_processes(host: BuilderHost) -> list[int]:
    """The host's sshd processes serving connections (children of its listener)."""
    listener = int((host.path / "sshd.pid").read_text())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == listener:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_broken_connection_mid_build_is_made_again(
    factory, db_session, make_backend, frontend, www, distgit_url, tmp_path, builder_hosts
):
    backend, (host,) = _ssh_backend(
        make_backend, builder_hosts, [frontend.url, www.url, distgit_url], tmp_path
    )
    project = factory.project(name="flaky")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("flaky", 6)
    )
    result_dir = (
        backend.settings.results_dir / project.ownername / "flaky" / "srpm-builds"
        / f"{build.id:08d}"
    )  # fmt: skip
    live_log = result_dir / "builder-live.log"
    with running_build_dispatcher(backend):

        def sleeping():
            return live_log.exists() and "started-sleeping" in live_log.read_text()

        wait_for(sleeping, 60, "the script to run")
        # Every connection to the host drops; the host and its build stay.
        sessions = _session_processes(host)
        assert sessions
        for pid in sessions:
            os.kill(pid, signal.SIGKILL)

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing and not backend.redis.smembers(
                WORKERS
            )

        wait_for(finished, 90, "the build to finish over a new connection")
    log = _worker_log(backend, build.task_id)
    assert "following the log again" in log, log
    assert log.count("starting on builder0") == 1, log
    assert len(list(result_dir.glob("*.src.rpm"))) == 1
    live = subprocess.run(
        ["gzip", "-dc", str(result_dir / "builder-live.log.gz")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    # Followed again from its start into the emptied file: whole, and once.
    assert live.stdout.count("started-sleeping") == 1
    assert "Build succeeded" in live.stdout
