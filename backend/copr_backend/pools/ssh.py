"""The ssh pool: builder hosts the settings list, driven over SSH (paramiko).

Each host of ``ssh_hosts`` runs up to ``max_builds`` builds at once, one per copr-rpmbuild
config (``rpmbuild_config`` with ``{slot}``).  Everything goes through copr-rpmbuild's
commands on the host — ``copr-rpmbuild --version`` (a builder too old or of another major
version is refused), ``copr-rpmbuild --detached --task-url`` (the builder fetches its task
from the frontend's backend API), ``copr-rpmbuild-log`` (the live log, streamed back over
the channel as it grows), ``copr-rpmbuild-cancel`` and ``copr-rpmbuild-status`` — and
SFTP, which pulls the results back and cleans the host's result dir on release.  Host
keys are checked against ``ssh_known_hosts``: a host whose key is not there is refused,
never added.

Who has a slot: an ``flock`` on ``<state_dir>/ssh-pool/<host>-<slot>.lease``, held by the
worker that leased it for as long as it lives (so two workers of this backend never take
the same slot).  Which task a slot holds is told by the host itself
(``copr-rpmbuild-status``), never by Redis or by this host's files: a worker that takes a
task over finds the slot whose build is that task — running, or ended with its results
still there (a slot whose results were fetched and cleaned is nobody's) — and re-attaches.
A slot is free when no copr-rpmbuild holds its lock and it holds no results of a task
the frontend still lists.
"""

from __future__ import annotations

import contextlib
import logging
import random
import shlex
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import paramiko

from copr_backend.pools import Builder, BuilderPool, BuildRequest, PoolError, wait_for_builder
from copr_backend.pools.local import SlotLease
from copr_backend.pools.rpmbuild import EXIT_INFRASTRUCTURE, BuilderStatus, check_version
from copr_backend.settings import BackendSettings, SshBuilderHost

log = logging.getLogger(__name__)

# How long a lease waits for a starting build on a host to say which task it is.
_TASK_ID_WAIT = 10.0
# Exit code of a command the remote shell did not find.
_NOT_FOUND = 127


class SshConnection:
    """One SSH connection to a builder host; its host key checked, never learned."""

    def __init__(self, host: SshBuilderHost, known_hosts: Path, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        self.client = paramiko.SSHClient()
        try:
            # Loaded as "system" keys: paramiko never writes those back.
            self.client.load_system_host_keys(str(known_hosts))
        except OSError as error:
            raise PoolError(f"cannot read ssh_known_hosts {known_hosts}: {error}") from None
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = f"{host.address}:{host.port}"
        try:
            self.client.connect(
                host.address,
                port=host.port,
                username=host.user,
                key_filename=str(host.key_file),
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            self.client.close()
            raise PoolError(
                f"{host.name}: the host key of {where} differs from the one in "
                f"{known_hosts}: refused"
            ) from None
        except paramiko.AuthenticationException as error:
            self.client.close()
            raise PoolError(f"{host.name}: {host.user}@{where} refused the key: {error}") from None
        except paramiko.SSHException as error:
            self.client.close()
            if "not found in known_hosts" in str(error):
                raise PoolError(
                    f"{host.name}: the host key of {where} is not in {known_hosts}: refused "
                    "(unknown host keys are never accepted; add it to the file)"
                ) from None
            raise PoolError(f"{host.name}: ssh to {where} failed: {error}") from None
        except (OSError, EOFError) as error:
            self.client.close()
            raise PoolError(f"{host.name}: cannot connect to {where}: {error}") from None

    def run(self, command: list[str], timeout: float = 120.0) -> tuple[int, str, str]:
        """Run ``command`` on the host: (exit code, stdout, stderr)."""
        try:
            _, stdout, stderr = self.client.exec_command(shlex.join(command), timeout=timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            return stdout.channel.recv_exit_status(), out, err
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise PoolError(f"{self.host.name}: {command[0]} failed over ssh: {error}") from None

    def channel(self, command: list[str]) -> paramiko.Channel:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise PoolError(f"{self.host.name}: the ssh connection is gone")
        try:
            channel = transport.open_session(timeout=self.timeout)
            channel.exec_command(shlex.join(command))
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise PoolError(f"{self.host.name}: {command[0]} failed over ssh: {error}") from None
        return channel

    def sftp(self) -> paramiko.SFTPClient:
        try:
            return self.client.open_sftp()
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise OSError(f"{self.host.name}: sftp failed: {error}") from None

    def close(self) -> None:
        self.client.close()


class RemoteLogFollower:
    """``copr-rpmbuild-log`` on the host, its output copied into a local file as it comes.

    When the connection breaks (the channel ends without an exit status), ``reopen`` is
    asked for a new channel for up to ``retry_for`` seconds: the log is followed again
    from its start into the emptied file, and the build goes on undisturbed on the host.
    """

    def __init__(
        self,
        reopen: Callable[[], paramiko.Channel],
        output: IO[bytes],
        where: str,
        retry_for: float = 60.0,
    ) -> None:
        self.reopen = reopen
        self.output = output
        self.where = where
        self.retry_for = retry_for
        self.returncode: int | None = None
        self.channel = reopen()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _copy(self) -> int:
        """The log's exit code, or -1 when the stream broke first."""
        try:
            while True:
                chunk = self.channel.recv(65536)
                if not chunk:
                    break
                self.output.write(chunk)
                self.output.flush()
            return self.channel.recv_exit_status()
        except (OSError, paramiko.SSHException, EOFError) as error:
            log.warning("%s: the live log stream broke: %s", self.where, error)
            return -1
        finally:
            self.channel.close()

    def _run(self) -> None:
        code = self._copy()
        deadline = time.monotonic() + self.retry_for
        while code < 0 and time.monotonic() < deadline:
            log.warning("%s: the ssh connection broke; following the log again", self.where)
            try:
                self.channel = self.reopen()
            except PoolError as error:
                log.warning("%s", error)
                time.sleep(2)
                continue
            self.output.seek(0)
            self.output.truncate()
            code = self._copy()
        self.returncode = code if code >= 0 else EXIT_INFRASTRUCTURE

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"copr-rpmbuild-log on {self.where}", timeout or 0)
        return self.returncode


class SshBuilder(Builder):
    """One slot of one builder host, leased over its own SSH connection."""

    def __init__(
        self,
        pool: SshPool,
        host: SshBuilderHost,
        slot: int,
        task_id: str,
        attached: bool,
        connection: SshConnection,
        lease: SlotLease | None,
    ) -> None:
        self.pool = pool
        self.host = host
        self.slot = slot
        self.task_id = task_id
        self.attached = attached
        self.connection = connection
        self.lease = lease
        self.name = f"{host.name}/{slot}"

    def _config(self) -> list[str]:
        config = self.host.config_of(self.slot)
        return ["-c", config] if config else []

    def status(self, wait_task: float = 0.0) -> BuilderStatus:
        return self.pool.slot_status(self._live(), self.host, self.slot, wait_task)

    def check(self) -> None:
        """Refuse a host without a compatible copr-rpmbuild (:class:`PoolError`)."""
        code, out, err = self._live().run(["copr-rpmbuild", "--version"], timeout=60)
        if code == _NOT_FOUND:
            raise PoolError(f"{self.name}: copr-rpmbuild is not installed on the host")
        if code != 0:
            raise PoolError(f"{self.name}: copr-rpmbuild --version exited {code}: {err.strip()}")
        check_version(out, self.pool.settings.builder_min_version, self.name)

    def start(self, request: BuildRequest) -> None:
        self.check()
        base = (self.pool.settings.builder_frontend_url or self.pool.settings.frontend_url).rstrip(
            "/"
        )
        command = ["copr-rpmbuild", "--detached", "--drop-resultdir", *self._config()]
        if request.is_source:
            command += [
                "--srpm",
                "--task-url",
                f"{base}/backend/get-srpm-build-task/{request.build_id}/",
            ]
        else:
            url = f"{base}/backend/get-build-task/{request.task_id}/"
            command += ["--chroot", str(request.chroot), "--task-url", url]
        code, _, err = self._live().run(command, timeout=120)
        if code == 0:
            return
        # A worker that died while starting the build may have got that far.
        if self.status(wait_task=_TASK_ID_WAIT).task_id == request.task_id:
            self.attached = True
            return
        raise PoolError(f"{self.name}: copr-rpmbuild did not start (exit {code}): {err.strip()}")

    def follow_log(self, output: IO[bytes]) -> RemoteLogFollower:
        command = ["copr-rpmbuild-log", *self._config(), "--wait", "60"]
        first = True

        def reopen() -> paramiko.Channel:
            nonlocal first
            if not first:
                self.reconnect()
            first = False
            return self.connection.channel(command)

        return RemoteLogFollower(reopen, output, self.name)

    def _live(self) -> SshConnection:
        """The connection, made anew when the old one broke (the build goes on there)."""
        transport = self.connection.client.get_transport()
        if transport is None or not transport.is_active():
            log.warning("%s: the ssh connection broke; connecting again", self.name)
            self.reconnect()
        return self.connection

    def reconnect(self) -> None:
        """A new connection to the host in place of one that broke."""
        connection = self.pool.connect(self.host)
        with contextlib.suppress(Exception):
            self.connection.close()
        self.connection = connection

    def is_running(self) -> bool:
        return self.status().running

    def build_pids(self) -> list[int]:
        """The build's processes as the builder host numbers them (not this host's)."""
        return self.status().pids

    def cancel(self) -> None:
        grace = self.pool.settings.cancel_grace
        command = ["copr-rpmbuild-cancel", *self._config(), "--grace", str(grace)]
        code, _, err = self._live().run(command, timeout=grace + 30)
        if code != 0:
            raise PoolError(f"{self.name}: copr-rpmbuild-cancel exited {code}: {err.strip()}")

    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        try:
            resultdir = self.status().resultdir
        except PoolError as error:
            raise OSError(str(error)) from None
        destination.mkdir(parents=True, exist_ok=True)
        copied: list[Path] = []
        sftp = self.connection.sftp()
        try:
            try:
                entries = sftp.listdir_attr(resultdir)
            except FileNotFoundError:
                return copied
            for entry in sorted(entries, key=lambda e: e.filename):
                # listdir_attr is lstat: only plain files, a link is never followed.
                if entry.st_mode is None or not stat.S_ISREG(entry.st_mode):
                    continue
                name = entry.filename
                if "/" in name or name.startswith("."):
                    continue
                target = destination / name
                if keep is not None and target.exists() and keep(target):
                    continue
                # Readers of the published tree never see half a file.
                partial = destination / f".{name}.partial"
                sftp.get(f"{resultdir}/{name}", str(partial))
                partial.replace(target)
                copied.append(target)
        finally:
            sftp.close()
        return copied

    def clean(self) -> None:
        """Empty the host's result dir: the slot holds nobody's results any more."""
        resultdir = self.status().resultdir
        if not resultdir:
            return
        sftp = self.connection.sftp()
        try:
            _remove_tree(sftp, resultdir, keep_top=True)
        finally:
            sftp.close()


def _remove_tree(sftp: paramiko.SFTPClient, path: str, keep_top: bool = False) -> None:
    try:
        entries = sftp.listdir_attr(path)
    except FileNotFoundError:
        return
    for entry in entries:
        child = f"{path}/{entry.filename}"
        if entry.st_mode is not None and stat.S_ISDIR(entry.st_mode):
            _remove_tree(sftp, child)
        else:
            sftp.remove(child)
    if not keep_top:
        sftp.rmdir(path)


class SshPool(BuilderPool):
    """The builder hosts of ``ssh_hosts``, leased slot by slot."""

    def __init__(
        self,
        settings: BackendSettings,
        task_is_queued: Callable[[str], bool] | None = None,
    ) -> None:
        if settings.ssh_known_hosts is None:
            raise PoolError('builder_pool = "ssh" needs ssh_known_hosts')
        self.settings = settings
        self.known_hosts: Path = settings.ssh_known_hosts
        self.task_is_queued = task_is_queued or (lambda task_id: True)
        self.lease_dir = settings.state_dir / "ssh-pool"
        # Why each host was passed over on the last look (for the lease's error).
        self.problems: dict[str, str] = {}

    def connect(self, host: SshBuilderHost) -> SshConnection:
        return SshConnection(host, self.known_hosts, self.settings.ssh_connect_timeout)

    def slot_status(
        self, connection: SshConnection, host: SshBuilderHost, slot: int, wait_task: float = 0.0
    ) -> BuilderStatus:
        config = host.config_of(slot)
        command = ["copr-rpmbuild-status", *(["-c", config] if config else [])]
        command += ["--wait-task", str(wait_task)]
        code, out, err = connection.run(command, timeout=wait_task + 60)
        where = f"{host.name}/{slot}"
        if code == _NOT_FOUND:
            raise PoolError(f"{where}: copr-rpmbuild is not installed on the host")
        if code != 0:
            raise PoolError(f"{where}: copr-rpmbuild-status exited {code}: {err.strip()}")
        return BuilderStatus.parse(out, where)

    def hosts_for(self, request: BuildRequest) -> list[SshBuilderHost]:
        """The hosts that may run ``request``: its arch (any for a source build), its tags."""
        arch = None if request.chroot is None else request.chroot.rsplit("-", 1)[-1]
        return [
            host
            for host in self.settings.ssh_hosts
            if (arch is None or arch in host.arches) and set(request.tags) <= set(host.tags)
        ]

    def _lease_file(self, host: SshBuilderHost, slot: int) -> SlotLease:
        directory = self.lease_dir / f"{host.name}-{slot}"
        directory.mkdir(parents=True, exist_ok=True)
        return SlotLease(directory)

    def _is_free(self, status: BuilderStatus, task_id: str) -> bool:
        if status.busy:
            return False
        if status.task_id is None or not status.result_files:
            return True
        return status.task_id != task_id and not self.task_is_queued(status.task_id)

    @staticmethod
    def _holds(status: BuilderStatus, task_id: str) -> bool:
        return status.task_id == task_id and (status.busy or bool(status.result_files))

    def _try_lease(self, request: BuildRequest) -> SshBuilder | None:
        hosts = self.hosts_for(request)
        if not hosts:
            raise PoolError(
                f"no ssh host builds {request.chroot or 'sources'} with tags {list(request.tags)}"
            )
        random.shuffle(hosts)
        looked: list[tuple[SshBuilderHost, SshConnection, dict[int, BuilderStatus]]] = []
        self.problems = {}
        chosen: SshBuilder | None = None
        try:
            for host in hosts:
                try:
                    connection = self.connect(host)
                except PoolError as error:
                    self.problems[host.name] = str(error)
                    log.warning("%s", error)
                    continue
                try:
                    statuses = {
                        slot: self.slot_status(connection, host, slot, _TASK_ID_WAIT)
                        for slot in range(host.max_builds)
                    }
                except PoolError as error:
                    connection.close()
                    self.problems[host.name] = str(error)
                    log.warning("%s", error)
                    continue
                looked.append((host, connection, statuses))
            chosen = self._choose(request, looked)
        finally:
            # One connection per host was opened to look; the chosen slot keeps its own.
            for _, connection, _ in looked:
                if chosen is None or chosen.connection is not connection:
                    connection.close()
        return chosen

    def _choose(
        self,
        request: BuildRequest,
        looked: list[tuple[SshBuilderHost, SshConnection, dict[int, BuilderStatus]]],
    ) -> SshBuilder | None:
        task_id = request.task_id
        # The task's own slot first: a worker before this one started it there.
        for host, connection, statuses in looked:
            for slot, status in statuses.items():
                if not self._holds(status, task_id):
                    continue
                lease = self._lease_file(host, slot)
                if not lease.acquire():
                    return None  # its worker still lives (or is just letting go)
                again = self.slot_status(connection, host, slot, _TASK_ID_WAIT)
                attached = self._holds(again, task_id)
                return SshBuilder(self, host, slot, task_id, attached, connection, lease)
        for host, connection, statuses in looked:
            for slot, status in statuses.items():
                if not self._is_free(status, task_id):
                    continue
                lease = self._lease_file(host, slot)
                if not lease.acquire():
                    continue
                again = self.slot_status(connection, host, slot)
                if not self._is_free(again, task_id):
                    lease.release()
                    continue
                return SshBuilder(self, host, slot, task_id, False, connection, lease)
        return None

    def lease(self, request: BuildRequest, timeout: float) -> SshBuilder:
        def why() -> str:
            return "; ".join(f"{name}: {text}" for name, text in sorted(self.problems.items()))

        # Longer pauses than local: each try opens a connection per candidate host.
        return wait_for_builder(
            self._try_lease, request, timeout, "ssh builder", why=why, pause=(0.5, 1.5)
        )

    def release(self, builder: Builder) -> None:
        if not isinstance(builder, SshBuilder) or builder.lease is None:
            raise PoolError(f"{builder!r} is not a builder leased from this pool")
        try:
            builder.clean()
        except (OSError, PoolError, paramiko.SSHException) as error:
            # Its results stay; the slot is free again once the frontend drops the task.
            log.warning("%s: cannot clean the result dir: %s", builder.name, error)
        finally:
            builder.lease.release()
            builder.connection.close()

    def forget(self, builder: Builder) -> None:
        """Let go of the slot; its results stay for the task's next worker."""
        if isinstance(builder, SshBuilder) and builder.lease is not None:
            builder.lease.release()
            with contextlib.suppress(Exception):
                builder.connection.close()

    def find(self, task_id: str) -> SshBuilder | None:
        """The slot whose build runs (or ran) ``task_id``, to look at; it is not leased."""
        for host in self.settings.ssh_hosts:
            connection = self.connect(host)
            for slot in range(host.max_builds):
                status = self.slot_status(connection, host, slot, _TASK_ID_WAIT)
                if self._holds(status, task_id):
                    return SshBuilder(self, host, slot, task_id, True, connection, None)
            connection.close()
        return None
