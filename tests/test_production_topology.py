"""The production topology in one stack: every service started from its packaged unit.

Each long-running service is started by ``tools/unitrun`` from its unit file in this tree
(ExecStart, Environment, EnvironmentFile, the unit's directories), with only the paths a
test must change mapped: ``/etc/copr`` to the stack's own settings files, ``/var/lib``,
``/var/log``, ``/run`` and ``/var/cache`` to its own directories, and the packages'
commands to this checkout's venv.  So the frontend runs under gunicorn as
``copr-frontend.service`` says, with the workers ``/etc/copr/frontend-gunicorn.env`` asks
for (the ansible role's template, rendered here), on PostgreSQL; the results are served
by the unit's nginx with the package's ``results-nginx.conf``.  Builders are builder
hosts (network namespaces reached over SSH) that a real resalloc-server's pool makes and
removes; build messages go through fedora-messaging to a real RabbitMQ, and the test
reads them back as a consumer does, with the ``copr-messaging`` schemas of PyPI.

The real copr-cli builds an SRPM, dnf installs the RPM from the results with gpgcheck,
and at the end no process of the stack and no builder host is left.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pika
import psycopg
import pytest
import requests
import tomli_w
from deploy_files import load_tool
from test_local_stack import Stack, create_project, enable_and_install

from copr_common import builder_hosts
from copr_common.resalloc_hosts import builder_host_commands, find_resalloc
from copr_common.testing.polling import wait_for
from copr_common.testing.resalloc import ResallocServer, start_resalloc
from copr_common.testing.services import ServiceRun, free_port
from copr_common.worker_manager import process_start_time

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
UPSTREAM = ROOT / ".venv-upstream" / "bin"
UNITRUN = ROOT / "tools" / "unitrun"
CHROOT = "fedora-42-x86_64"
BUILD_TIMEOUT = 300
HOST = "127.0.0.1"
GUNICORN_WORKERS = 3
TOPIC_PREFIX = "org.copr.topology"
# Every process the stack starts inherits this (unitrun passes it on): what is left at
# the end is found by it, detached workers too.
MARKER = "COPR_TOPOLOGY_STACK"
RESALLOC_DIR, NO_RESALLOC = find_resalloc()
unitrun = load_tool("unitrun")

# unit file -> what it serves (None: a dispatcher, running is enough).
UNITS = {
    "keygen/systemd/copr-keygen.service": "keygen",
    "dist-git/systemd/copr-distgit-http.service": "dist_git",
    "dist-git/systemd/copr-distgit-dispatcher.service": None,
    "frontend/systemd/copr-frontend.service": "frontend",
    "backend/systemd/copr-backend-results.service": "results",
    "backend/systemd/copr-backend-build.service": None,
    "backend/systemd/copr-backend-action.service": None,
    "backend/systemd/copr-backend-notification.service": None,
}
READY_PATHS = {
    "keygen": "/ping",
    "dist_git": "/per-task-logs/",
    "frontend": "/api_3/mock-chroots/list",
    "results": "/results/",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="builder hosts are Linux namespaces"),
    pytest.mark.skipif(RESALLOC_DIR is None, reason=NO_RESALLOC),
]


@dataclass
class Topology:
    root: Path
    ports: dict[str, int]
    service_run: ServiceRun
    secrets: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    resalloc: ResallocServer | None = None
    # The frontend's database, as psycopg's connection URL.
    database: str = ""

    @property
    def etc(self) -> Path:
        return self.root / "etc" / "copr"

    @property
    def hosts_dir(self) -> Path:
        return self.root / "builder-hosts"

    @property
    def host_prefix(self) -> str:
        # Short: builder host names become interface names (15 characters at most).
        return f"ctp{os.getpid() % 10000}r"

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}"

    def map_pairs(self) -> list[tuple[str, str]]:
        """The packaged paths onto this stack's, longest first (as unitrun applies them)."""
        pairs = {
            "/etc/copr": self.etc,
            "/var/lib": self.root / "var" / "lib",
            "/var/log": self.root / "var" / "log",
            "/run": self.root / "run",
            "/var/cache": self.root / "var" / "cache",
            "/usr/bin": VENV_BIN,
            "/usr/libexec/copr-frontend/gunicorn": VENV_BIN / "gunicorn",
        }
        return sorted(((old, str(new)) for old, new in pairs.items()), key=lambda p: -len(p[0]))

    def maps(self) -> list[str]:
        """The unitrun --map options."""
        return [f"--map={old}={new}" for old, new in self.map_pairs()]

    def state(self, name: str) -> Path:
        """Where a unit's /var/lib/NAME is in this stack."""
        return self.root / "var" / "lib" / name

    def start_unit(self, unit: str) -> None:
        # The unit's users (copr-fe, copr-signer, ...) are the packages'; this machine has
        # none, so the services run as the invoker, except nginx, whose DynamicUser runs
        # as nobody (as unitrun says).
        path = ROOT / unit
        service = unitrun.parse_unit(path.read_text())["Service"]
        dynamic = unitrun.service_value(service, "DynamicUser", "no") == "yes"
        as_invoker = [] if dynamic else ["--as-invoker"]
        name = path.stem
        # Each unit's user has a home of its own, where gunicorn keeps its control socket:
        # here they are one user, so each gets its own home.
        home = self.root / "home" / name
        home.mkdir(parents=True)
        env = [f"--env={MARKER}={self.root}", f"--env=HOME={home}"]
        command = [sys.executable, str(UNITRUN), *self.maps(), *as_invoker, *env, str(path)]
        self.processes[name] = self.service_run.spawn(
            f"topology-{name}", command, cwd=self.root, env=_clean_environment()
        )

    def log(self, name: str) -> str:
        return self.service_run.log_tail(f"topology-{name}", 60)

    def _host_processes(self) -> list[int]:
        """The processes of builder hosts (their sshd and relays name the hosts' dir)."""
        where = str(self.hosts_dir).encode()
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if entry.name.isdigit() and where in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
        return found

    def processes_left(self) -> list[int]:
        """The stack's processes: those with its marker, and those that name its dir (a
        builder host's sshd and relays, which resalloc-server's pool started)."""
        marker = f"{MARKER}={self.root}".encode()
        root = str(self.root).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if (marker in environ.split(b"\0") or root in cmdline) and _running(int(entry.name)):
                found.append(int(entry.name))
        return found

    def stop(self) -> list[str]:
        """Stop every unit, resalloc-server and the builder hosts; returns the stack's
        processes that were still there then (pid and command line; killed now)."""
        for proc in reversed(list(self.processes.values())):
            self.service_run.stop(proc)
        self.processes.clear()
        if self.resalloc is not None:
            self.resalloc.stop()
            self.resalloc = None
        # A host resalloc-server was making as it stopped is finished by its allocation
        # command afterwards: hosts are removed until none is left running.
        deadline = time.monotonic() + 30
        while True:
            builder_hosts.delete_all(self.host_prefix, self.hosts_dir)
            time.sleep(1.0)
            if not self._host_processes() or time.monotonic() > deadline:
                break
        # One the pool's allocation command was still making when resalloc-server stopped
        # can keep its sshd (under make test's load it has, twice): that is the harness's
        # pool, not a unit's process, so it is killed here and not counted below.
        killed = self._host_processes()
        for pid in killed:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(map(_running, killed)) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Detached build and import workers leave the units' process groups (they outlive
        # a restart); a host being made when resalloc-server stopped leaves its sshd.
        left = []
        for pid in self.processes_left():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                os.kill(pid, signal.SIGKILL)
                # One that was ending as it was listed is dead now, not left.
                if cmdline or _running(pid):
                    left.append(f"{pid} {cmdline.decode(errors='replace')}")
        return left


def _running(pid: int) -> bool:
    # A killed process stays a zombie, its command line empty, until its parent reaps it
    # (the CI run once reported two so): that one is not running.
    return process_start_time(pid) is not None


def _clean_environment() -> dict[str, str]:
    # A stray COPR_* setting of the invoker would win over the settings files.
    return {key: value for key, value in os.environ.items() if not key.startswith("COPR_")}


def frontend_command(topology: Topology, *args: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "copr-frontend"), "--config", str(topology.etc / "frontend.toml"), *args],
        capture_output=True, text=True, timeout=300, check=False, env=_clean_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout


def write_settings(topology: Topology, database_url: str, redis_url: str, amqp_url: str) -> None:
    """The settings files the units point to (/etc/copr/*), as the ansible roles write
    them for a site: production paths, only the addresses and secrets this stack's."""
    s = topology.secrets
    state = topology.state
    rpmbuild = {
        "frontend_url": topology.url("frontend"),
        "distgit_clone_url": topology.url("dist_git") + "/git",
        "distgit_lookaside_url": topology.url("dist_git") + "/repo/pkgs",
    }
    arch = os.uname().machine
    settings: dict[str, dict[str, Any]] = {
        "frontend": {
            "database_url": database_url,
            "secret_key": s["secret_key"],
            "backend_password": s["backend_password"],
            "public_url": topology.url("frontend"),
            "results_url": topology.url("results") + "/results",
            "dist_git_url": topology.url("dist_git") + "/git",
            "upload_dir": str(state("copr-frontend") / "uploads"),
            "redis_url": redis_url,
        },
        "keygen": {
            "state_dir": str(state("copr-keygen")),
            "secret": s["keygen_secret"],
            "allowed_networks": ["127.0.0.0/8"],
            "default_key_length": 2048,
            "bind": f"{HOST}:{topology.ports['keygen']}",
        },
        "dist-git": {
            "frontend_url": topology.url("frontend"),
            "frontend_auth": s["backend_password"],
            "redis_url": redis_url,
            "state_dir": str(state("copr-dist-git")),
            "sleep_time": 2.0,
            "http_bind": f"{HOST}:{topology.ports['dist_git']}",
        },
        "backend": {
            "frontend_url": topology.url("frontend"),
            "frontend_auth": s["backend_password"],
            "redis_url": redis_url,
            "results_dir": str(state("copr") / "public_html" / "results"),
            "results_url": topology.url("results") + "/results",
            "state_dir": str(state("copr") / "backend"),
            "worker_log_dir": str(topology.root / "var" / "log" / "copr-backend"),
            "sleep_time": 2.0,
            "keygen_url": topology.url("keygen"),
            "keygen_secret": s["keygen_secret"],
            "message_publisher": "amqp",
            "messaging_config": str(topology.etc / "fedora-messaging.toml"),
            "rpmbuild_settings": rpmbuild,
            "builder_pool": "resalloc",
            "resalloc_url": topology.resalloc.url if topology.resalloc else "",
            "resalloc_max_builds": 2,
            "resalloc_source_arch": arch,
            "resalloc_ssh_user": "root",
            "resalloc_ssh_key_file": str(topology.root / "backend-ssh" / "id_ed25519"),
            "resalloc_rpmbuild_config": (
                f"{topology.hosts_dir}/by-address/{{address}}/slot-0/rpmbuild.toml"
            ),
            "ssh_known_hosts": str(topology.hosts_dir / "known_hosts"),
            "builder_check_interval": 5.0,
        },
    }
    for service, values in settings.items():
        (topology.etc / f"{service}.toml").write_text(tomli_w.dumps(values))
    # The broker and the prefix come from a fedora-messaging config file, as in production.
    messaging = {"amqp_url": amqp_url, "topic_prefix": TOPIC_PREFIX}
    (topology.etc / "fedora-messaging.toml").write_text(tomli_w.dumps(messaging))

    # The frontend role's template, rendered with this stack's address and workers.
    template = ROOT / "ansible" / "roles" / "frontend" / "templates" / "frontend-gunicorn.env.j2"
    env_file = jinja2.Template(template.read_text(), undefined=jinja2.StrictUndefined).render(
        ansible_managed="written by tests/test_production_topology.py",
        copr_frontend_listen=f"{HOST}:{topology.ports['frontend']}",
        copr_frontend_gunicorn_workers=GUNICORN_WORKERS,
    )
    (topology.etc / "frontend-gunicorn.env").write_text(env_file)

    # The backend package's nginx config with the site's port, as the backend role writes
    # it, and the packaged paths mapped as for the units.
    nginx = (ROOT / "backend" / "conf" / "results-nginx.conf").read_text()
    nginx = re.sub(r"(?m)^(\s*listen )5002;", rf"\g<1>{HOST}:{topology.ports['results']};", nginx)
    nginx = re.sub(r"(?m)^\s*listen \[::\]:5002;\n", "", nginx)
    for old in ("/run", "/var/log", "/var/cache", "/var/lib"):
        nginx = re.sub(rf"(?<=[ ]){old}/", f"{topology.root}{old}/", nginx)
    (topology.etc / "results-nginx.conf").write_text(nginx)


def resalloc_pool(topology: Topology) -> dict[str, Any]:
    """A pool of builder hosts that reach this stack's services on their loopback."""
    public_key = builder_hosts.make_client_key(
        topology.root / "backend-ssh" / "id_ed25519", "copr topology test"
    )
    rpmbuild = {
        "frontend_url": topology.url("frontend"),
        "distgit_clone_url": topology.url("dist_git") + "/git",
        "distgit_lookaside_url": topology.url("dist_git") + "/repo/pkgs",
    }
    relayed = [topology.ports[name] for name in ("frontend", "dist_git", "results")]
    cmd_new, cmd_delete = builder_host_commands(
        topology.hosts_dir, public_key, rpmbuild, relayed, topology.host_prefix
    )
    arch = os.uname().machine
    return {
        f"copr_topology_{arch}": {
            "max": 2,
            "max_starting": 2,
            "max_prealloc": 1,
            "cmd_new": cmd_new,
            "cmd_delete": cmd_delete,
            "tags": ["copr_builder", f"arch_{arch}"],
        }
    }


def wait_until_served(topology: Topology) -> None:
    def served(name: str, service: str) -> bool:
        proc = topology.processes[name]
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}:\n{topology.log(name)}")
        try:
            response = requests.get(topology.url(service) + READY_PATHS[service], timeout=5)
        except requests.RequestException:
            return False
        # It answers; what it serves (the results tree the backend makes) comes later.
        return response.status_code < 500

    for unit, service in UNITS.items():
        if service is None:
            continue
        name = Path(unit).stem
        try:
            wait_for(functools.partial(served, name, service), 60, f"{name} to serve")
        except BaseException as error:
            raise AssertionError(f"{error}\n{topology.log(name)}") from None


@pytest.fixture(scope="module")
def topology(
    postgres_server: Any, redis_server: Any, rabbitmq_server: Any, service_run: ServiceRun
) -> Iterator[Topology]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("builder hosts (network namespaces) need root and ip")
    # Builds on the hosts and nginx's nobody walk down to their files: 0755 parents.
    root = Path(tempfile.mkdtemp(prefix="copr-topology-", dir="/tmp"))
    root.chmod(0o755)
    ports = {name: free_port() for name in ("frontend", "dist_git", "results", "keygen")}
    topology = Topology(root, ports, service_run)
    names = ("secret_key", "backend_password", "keygen_secret")
    topology.secrets = {name: os.urandom(16).hex() for name in names}
    topology.etc.mkdir(parents=True)
    topology.hosts_dir.mkdir(mode=0o755)
    try:
        topology.resalloc = start_resalloc(
            service_run, resalloc_pool(topology), name=f"topology-resalloc-{root.name}"
        )
        postgres_server.create_database("copr_topology")
        topology.database = postgres_server.url("copr_topology")
        database = postgres_server.url("copr_topology", driver="postgresql+psycopg")
        redis_url = redis_server.url(63)
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        write_settings(topology, database, redis_url, rabbitmq_server.url)
        # What the frontend role runs once on a new database.
        frontend_command(topology, "upgrade-db")
        frontend_command(topology, "seed-chroots")
        frontend_command(topology, "create-user", "admin", "--admin")
        frontend_command(topology, "api-token", "admin", "--output", str(root / "copr-cli.conf"))
        for unit in UNITS:
            topology.start_unit(unit)
        wait_until_served(topology)
        yield topology
    finally:
        topology.stop()
        postgres_server.drop_database("copr_topology")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def message_queue(rabbitmq_server: Any) -> Iterator[str]:
    """A queue bound to every copr message of this stack (the test's consumer)."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=False, auto_delete=False).method.queue
    channel.queue_bind(queue, "amq.topic", f"{TOPIC_PREFIX}.copr.#")
    connection.close()
    yield queue
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    connection.channel().queue_delete(queue)
    connection.close()


# A consumer's side: fedora-messaging picks the class by the schema header (copr-messaging's,
# installed in .venv-upstream) and checks headers and body against its schema.
READ_AS_CONSUMER = """
import json, sys
import pika
from fedora_messaging.message import get_message
for routing_key, properties, body in json.load(sys.stdin):
    message = get_message(routing_key, pika.BasicProperties(**properties), body.encode())
    message.validate()
    print(json.dumps({
        "class": type(message).__module__ + "." + type(message).__name__,
        "topic": message.topic,
        "status": getattr(message, "status", None),
        "build_id": message.build_id,
        "project": message.project_owner + "/" + message.project_name,
        "chroot": message.chroot,
        "package": message.package_name,
    }))
"""


def read_as_consumer(messages: list[tuple[str, pika.BasicProperties, bytes]]) -> list[Any]:
    given = [
        (key, {"headers": props.headers, "content_type": props.content_type,
               "content_encoding": props.content_encoding}, body.decode())
        for key, props, body in messages
    ]  # fmt: skip
    result = subprocess.run(
        [str(UPSTREAM / "python"), "-c", READ_AS_CONSUMER], input=json.dumps(given),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def gunicorn_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_every_service_runs_its_units_command(topology: Topology) -> None:
    for unit in UNITS:
        name = Path(unit).stem
        service = unitrun.parse_unit((ROOT / unit).read_text())["Service"]
        command = unitrun.exec_start(service)
        proc = topology.processes[name]
        assert proc.poll() is None, topology.log(name)
        running = [word.decode() for word in
                   Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[:-1]]  # fmt: skip
        # The unit's words with its paths mapped onto the stack's, and nothing else (a
        # Python script runs under the interpreter its first line names; nginx's title
        # is "nginx: master process" and its command line).
        expected = unitrun.remap_words(command, topology.map_pairs())
        if running[0].startswith("nginx: master process "):
            assert running == [f"nginx: master process {' '.join(expected)}"], name
        else:
            assert expected in (running, running[1:]), (name, running, expected)
    # gunicorn read its workers and address from the env file the unit names.
    frontend = topology.processes["copr-frontend"]
    environ = Path(f"/proc/{frontend.pid}/environ").read_bytes().split(b"\0")
    gunicorn_args = f"--bind {HOST}:{topology.ports['frontend']} --workers {GUNICORN_WORKERS}"
    assert f"GUNICORN_CMD_ARGS={gunicorn_args}".encode() in environ
    assert len(gunicorn_workers(frontend.pid)) == GUNICORN_WORKERS
    settings = (topology.etc / "frontend.toml").read_text()
    assert 'database_url = "postgresql+psycopg://' in settings


def test_a_build_on_a_resalloc_builder_installs_and_its_messages_validate(
    topology: Topology, message_queue: str, srpm: Path, rabbitmq_server: Any, tmp_path: Path
) -> None:
    stack = Stack(topology.root, topology.url("frontend"), topology.url("results") + "/results",
                  topology.root / "copr-cli.conf")  # fmt: skip
    create_project(stack, "topology")
    submitted = stack.copr_cli("build", "topology", str(srpm), "--nowait")
    assert submitted.returncode == 0, submitted.stderr + submitted.stdout
    match = re.search(r"^Created builds: (\d+)$", submitted.stdout, re.MULTILINE)
    assert match, submitted.stdout
    build_id = int(match.group(1))
    watched = stack.copr_cli("watch-build", str(build_id), timeout=BUILD_TIMEOUT)
    workers = topology.root / "var" / "log" / "copr-backend"
    assert watched.returncode == 0, watched.stdout + "".join(
        path.read_text(errors="replace") for path in workers.glob("*.log")
    )
    assert f"Build {build_id}: succeeded" in watched.stdout

    # The frontend (gunicorn's workers) keeps it in PostgreSQL.
    with psycopg.connect(topology.database) as connection:
        rows = connection.execute("SELECT id FROM builds").fetchall()
    assert rows == [(build_id,)]

    # Both builds ran on builder hosts the resalloc pool made.
    journal = (topology.hosts_dir / "resources.log").read_text().splitlines()
    made = {line.split()[0] for line in journal}
    for task in (f"{build_id}", f"{build_id}-{CHROOT}"):
        log = (workers / f"backend-build-worker-{task}.log").read_text()
        used = set(re.findall(r"\b10\.233\.\d+\.2\b", log))
        assert used, log
        assert used <= made, (used, made)

    # Served by the unit's nginx, signed by keygen: dnf installs it with gpgcheck=1.
    enable_and_install(stack, "topology", "hello-copr", tmp_path / "root")
    access_log = topology.root / "var" / "log" / "copr-backend-results" / "access.log"
    assert "hello-copr-1.0-1" in access_log.read_text()

    # Every message the build sent, through RabbitMQ, read by copr-messaging's schemas.
    def all_arrived() -> bool:
        arrived.extend(rabbitmq_server.take_all(message_queue))
        return len([key for key, _, _ in arrived if key.endswith(".build.end")]) >= 2

    arrived: list[tuple[str, pika.BasicProperties, bytes]] = []
    wait_for(all_arrived, 30, "both build.end messages")
    read = read_as_consumer(arrived)
    assert {r["build_id"] for r in read} == {build_id}
    assert {r["project"] for r in read} == {"admin/topology"}
    by_chroot: dict[str, list[tuple[str, str | None]]] = {}
    for message in read:
        by_chroot.setdefault(message["chroot"], []).append((message["class"], message["status"]))
    schema = "copr_messaging.schema."
    for chroot in ("srpm-builds", CHROOT):
        assert [cls for cls, _ in by_chroot[chroot]] == [
            f"{schema}BuildChrootStartedV1",
            f"{schema}BuildChrootStartedV1DontUse",
            f"{schema}BuildChrootEndedV1",
        ], chroot
        assert by_chroot[chroot][-1][1] == "succeeded"
    assert set(by_chroot) == {"srpm-builds", CHROOT}


def test_stopping_leaves_no_process_and_no_builder_host(topology: Topology) -> None:
    assert topology.processes_left()
    # After the build nothing runs but the services: stopping them leaves nothing but
    # keygen's gpg-agent, a daemon of its own session that systemd's stop removes with
    # the unit's cgroup (copr-keygen.service keeps the default KillMode=control-group).
    gnupg = f"--homedir {topology.state('copr-keygen')}/gnupg "
    assert [line for line in topology.stop() if gnupg not in line] == []
    assert topology.processes_left() == []
    namespaces = builder_hosts.namespaces()
    assert [name for name in namespaces if name.startswith(topology.host_prefix)] == []
    for name, port in topology.ports.items():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((HOST, port)) != 0, name
