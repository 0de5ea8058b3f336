"""Throwaway PostgreSQL, Redis and RabbitMQ servers for tests.

Each server runs from a private directory under ``/tmp/copr-test-<pid>-*``, listens on a
random loopback port, and is the leader of its own process group so that stopping it
takes every child with it.  The directory records the pytest process that owns it and
the process groups it started; a later test session kills what a crashed one left.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BASE_PREFIX = "copr-test-"
STOP_TIMEOUT = 15.0


class ServiceStartError(RuntimeError):
    """A test server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str, *extra_globs: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for pattern in extra_globs:
        hits = sorted(glob.glob(pattern))  # noqa: PTH207 - absolute patterns
        if hits:
            return hits[-1]
    raise ServiceStartError(f"{name} is not installed (run `make setup`)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Signal a process group that is not our child, wait, and SIGKILL whatever stays."""
    _signal_group(pgid, sig)
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)


@dataclass
class ServiceRun:
    """The scratch directory of one test session, and the process groups started in it."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=_run_prefix())))
    processes: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # PostgreSQL runs as another user and must be able to reach its directory.
        self.root.chmod(0o755)
        (self.root / "owner.pid").write_text(str(os.getpid()))

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` as the leader of a new process group, logging to ``<name>.log``."""
        log = (self.root / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            user=user,
            cwd=cwd,
            start_new_session=True,
        )
        log.close()
        self.processes.append((proc, stop_signal))
        with (self.root / "pgids").open("a") as record:
            record.write(f"{proc.pid}\n")
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.root / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        """Stop a process group we started: ``sig`` to all, then SIGKILL after a while."""
        _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # The leader is reaped now, so the group test below sees only real stragglers.
        _kill_group(proc.pid, timeout=5, sig=sig)

    def close(self) -> None:
        for proc, stop_signal in reversed(self.processes):
            self.stop(proc, stop_signal)
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _run_prefix() -> str:
    return f"{BASE_PREFIX}{os.getpid()}-"


def reap_stale_runs(tmp: str | None = None) -> list[Path]:
    """Kill the servers of test sessions whose pytest process is gone, and remove their dirs."""
    reaped = []
    for root in Path(tmp or tempfile.gettempdir()).glob(f"{BASE_PREFIX}*"):
        owner_file = root / "owner.pid"
        try:
            owner = int(owner_file.read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        pgids = root / "pgids"
        if pgids.exists():
            for line in pgids.read_text().split():
                pgid = int(line)
                # Only a group whose leader still runs from this directory is ours: pids
                # get reused, and a stranger's process must never be killed.
                if _runs_from(pgid, root):
                    _kill_group(pgid, timeout=5)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


def _runs_from(pid: int, root: Path) -> bool:
    """Whether process ``pid`` works in ``root`` (its cwd) or names it on its command line."""
    proc = Path(f"/proc/{pid}")
    try:
        if str(root).encode() in (proc / "cmdline").read_bytes():
            return True
        return (proc / "cwd").resolve().is_relative_to(root)
    except OSError:
        return False


def _wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    what: str,
    log: Callable[[], str],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceStartError(
                f"{what} exited with {proc.returncode} while starting:\n{log()}"
            )
        if ready():
            return
        time.sleep(0.1)
    raise ServiceStartError(f"{what} did not become ready in {timeout:.0f}s:\n{log()}")


# --- PostgreSQL ---------------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A PostgreSQL cluster made with initdb for one test session (superuser ``postgres``)."""

    host: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    user: str = "postgres"
    restarter: _Restarter | None = field(default=None, repr=False)

    def restart(self, *, kill: bool = False) -> None:
        """Stop the server (``kill``: SIGKILL, a crash) and start it again on its port."""
        if self.restarter is None:
            raise RuntimeError("this server cannot be restarted")
        self.process = self.restarter.restart(self.process, kill=kill)

    def url(self, dbname: str = "postgres", driver: str = "postgresql") -> str:
        """A connection URL; ``driver="postgresql+psycopg"`` gives SQLAlchemy's form."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        return self.url()

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (optionally a copy of ``template``); returns its URL."""
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def start_postgres(run: ServiceRun, timeout: float = 60, name: str = "postgres") -> PostgresServer:
    """A new cluster; ``name`` names its directory and log (one per server of a run)."""
    initdb = find_binary("initdb", "/usr/lib/postgresql/*/bin/initdb")
    postgres = find_binary("postgres", "/usr/lib/postgresql/*/bin/postgres")
    # initdb refuses to run as root; then the cluster belongs to the 'postgres' user.
    user = "postgres" if os.geteuid() == 0 else None
    data_dir = run.root / name
    socket_dir = run.root / f"{name}-socket"
    for directory in (data_dir, socket_dir):
        directory.mkdir(mode=0o700)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)

    subprocess.run(
        [initdb, "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True,
        user=user,
        cwd=run.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip

    def launch(port: int) -> subprocess.Popen[bytes]:
        return run.spawn(
            name,
            [postgres, "-D", str(data_dir), "-p", str(port), "-h", "127.0.0.1",
             "-k", str(socket_dir), "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300"],
            user=user,
            cwd=data_dir,
            stop_signal=signal.SIGINT,  # "fast" shutdown: do not wait for clients
        )  # fmt: skip

    def ready(port: int) -> bool:
        import psycopg

        try:
            psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    port, proc = _start_on_free_port(run, name, launch, ready, "could not bind", timeout)
    restarter = _Restarter(run, name, port, launch, ready, timeout, signal.SIGINT)
    return PostgresServer("127.0.0.1", port, data_dir, proc, restarter=restarter)


@dataclass
class _Restarter:
    """Stops a server of a run and starts it again on the same port (for fault tests)."""

    run: ServiceRun
    name: str
    port: int
    launch: Callable[[int], subprocess.Popen[bytes]]
    ready: Callable[[int], bool]
    timeout: float
    stop_signal: int

    def restart(self, proc: subprocess.Popen[bytes], *, kill: bool) -> subprocess.Popen[bytes]:
        self.run.stop(proc, signal.SIGKILL if kill else self.stop_signal)
        self.run.processes = [(p, sig) for p, sig in self.run.processes if p is not proc]
        # The port was ours a moment ago; a server that cannot bind it yet tries again.
        deadline = time.monotonic() + self.timeout
        while True:
            new = self.launch(self.port)
            try:
                _wait_until(
                    partial(self.ready, self.port),
                    new,
                    self.name,
                    partial(self.run.log_tail, self.name),
                    self.timeout,
                )
            except ServiceStartError:
                self.run.stop(new, signal.SIGKILL)
                self.run.processes = [(p, sig) for p, sig in self.run.processes if p is not new]
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            return new


def _start_on_free_port(
    run: ServiceRun,
    name: str,
    launch: Callable[[int], subprocess.Popen[bytes]],
    ready: Callable[[int], bool],
    port_taken: str,
    timeout: float,
) -> tuple[int, subprocess.Popen[bytes]]:
    """Start a server on a free port; another process may grab the port first, so retry."""
    for _attempt in range(5):
        port = free_port()
        proc = launch(port)
        try:
            _wait_until(partial(ready, port), proc, name, partial(run.log_tail, name), timeout)
        except ServiceStartError:
            if port_taken in run.log_tail(name):
                run.stop(proc, signal.SIGKILL)
                continue
            raise
        return port, proc
    raise ServiceStartError(f"{name}: no free port found after 5 attempts")


# --- Redis --------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A private redis-server that wants ``password``, as the stack's does."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    password: str = ""
    restarter: _Restarter | None = field(default=None, repr=False)

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{db}"

    def kill(self) -> None:
        """Kill -9 the server; it stays down until :meth:`restart`."""
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def restart(self, *, kill: bool = True) -> None:
        """(Kill and) start the server again on its port, empty: nothing is saved."""
        if self.restarter is None:
            raise RuntimeError("this server cannot be restarted")
        self.process = self.restarter.restart(self.process, kill=kill)


def start_redis(run: ServiceRun, timeout: float = 30, name: str = "redis") -> RedisServer:
    """A new redis-server; ``name`` names its directory and log (one per server of a run)."""
    binary = find_binary("redis-server")
    data_dir = run.root / name
    data_dir.mkdir()
    password = secrets.token_urlsafe(24)
    # The password in a file of its own, not on the command line.
    config = data_dir / "redis.conf"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(f"requirepass {password}\n")

    def launch(port: int) -> subprocess.Popen[bytes]:
        return run.spawn(
            name,
            [binary, str(config), "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(data_dir), "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--databases", "64"],
            cwd=data_dir,
        )  # fmt: skip

    def ready(port: int) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    port, proc = _start_on_free_port(run, name, launch, ready, "Address already in use", timeout)
    restarter = _Restarter(run, name, port, launch, ready, timeout, signal.SIGTERM)
    return RedisServer("127.0.0.1", port, proc, password, restarter=restarter)


# --- RabbitMQ -----------------------------------------------------------------------------


@dataclass
class RabbitMQServer:
    """A RabbitMQ broker started for a test run, and its AMQP URL."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    user: str = "guest"
    password: str = "guest"  # noqa: S105 - RabbitMQ's loopback-only default account

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{self.host}:{self.port}/%2F"

    def take_all(self, queue: str) -> list[tuple[str, Any, bytes]]:
        """Every message waiting in ``queue``, taken off it: ``(routing key, properties,
        body)`` each, in order.
        """
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            messages: list[tuple[str, Any, bytes]] = []
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return messages
                messages.append((method.routing_key, properties, body))
        finally:
            connection.close()


def start_rabbitmq(run: ServiceRun, timeout: float = 90) -> RabbitMQServer:
    server_script = find_binary("rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")
    if server_script.startswith("/usr/sbin/"):
        # Debian's /usr/sbin wrapper switches to the system rabbitmq user and its dirs.
        server_script = find_binary("/usr/lib/rabbitmq/bin/rabbitmq-server")
    epmd = find_binary("epmd", "/usr/lib/erlang/erts-*/bin/epmd")
    home = run.root / "rabbitmq"
    home.mkdir()
    (home / "rabbitmq.conf").write_text(
        "loopback_users.guest = true\n"
        "log.console = true\n"
        "log.file = false\n"
        "disk_free_limit.absolute = 1MB\n"
    )
    (home / "enabled_plugins").write_text("[].\n")

    # The Erlang port mapper would otherwise start as a detached daemon that outlives us;
    # started here, it is one of our process groups on a private port.
    epmd_port = free_port()
    run.spawn(
        "epmd",
        [epmd, "-port", str(epmd_port), "-address", "127.0.0.1"],
        cwd=home,
        stop_signal=signal.SIGKILL,
    )

    port = free_port()
    node = f"copr-test-{os.getpid()}-{port}@localhost"
    env = {
        **os.environ,
        "HOME": str(home),
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_BASE": str(home),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(home / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        "RABBITMQ_LOGS": "-",
    }
    # The broker's data is thrown away, so there is nothing to shut down gracefully.
    proc = run.spawn("rabbitmq", [server_script], env=env, cwd=home, stop_signal=signal.SIGKILL)
    server = RabbitMQServer("127.0.0.1", port, proc)

    def ready() -> bool:
        import pika
        import pika.exceptions

        try:
            params = pika.URLParameters(server.url + "?socket_timeout=2&connection_attempts=1")
            pika.BlockingConnection(params).close()
        except pika.exceptions.AMQPError:
            return False
        return True

    _wait_until(ready, proc, "rabbitmq-server", partial(run.log_tail, "rabbitmq"), timeout)
    return server


@contextlib.contextmanager
def service_run() -> Iterator[ServiceRun]:
    reap_stale_runs()
    run = ServiceRun()
    try:
        yield run
    finally:
        run.close()
