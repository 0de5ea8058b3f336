"""The state dir of a local stack: where everything lives, and what persists between runs.

Everything a stack creates lives under one directory (default ``.copr-local/`` in the
checkout).  ``state.json`` keeps what must not change between runs: the secrets the
services share and the ports (so that copr-cli configs and enabled ``.repo`` files keep
working after a restart).  A port that was taken meanwhile is replaced by a free one.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import stat
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

SERVICES_WITH_PORTS = ("frontend", "dist_git", "keygen", "results", "redis")
# Where builds run: this host's sandboxed slots, builder hosts over SSH (a fixed list),
# or builder hosts leased from a resalloc-server of the stack's own.
BUILDERS = ("local", "ssh", "resalloc")
DEFAULT_BUILDER_HOSTS = 2
HOST = "127.0.0.1"
FALLBACK_POOL_ROOT = Path("/var/lib/copr-local")
# Stacks' slot uids lie in 2000100000-2001699999, clear of the backend's and
# copr-rpmbuild's defaults and of every account (systemd leaves that range unassigned).
SANDBOX_UID_BASE = 2_000_100_000


class StackError(Exception):
    """Something the user has to fix; the message says what."""


@dataclass(frozen=True)
class StackLayout:
    """Paths inside a state dir."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def supervisord_conf(self) -> Path:
        return self.etc / "supervisord.conf"

    @property
    def supervisord_pid(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def supervisor_socket(self) -> Path:
        return self.root / "supervisor.sock"

    @property
    def stack_env(self) -> Path:
        return self.root / "stack.env"

    @property
    def copr_cli_config(self) -> Path:
        return self.root / "copr-cli.conf"

    @property
    def frontend_dir(self) -> Path:
        return self.root / "frontend"

    @property
    def keygen_dir(self) -> Path:
        return self.root / "keygen"

    @property
    def dist_git_dir(self) -> Path:
        return self.root / "dist-git"

    @property
    def backend_dir(self) -> Path:
        return self.root / "backend"

    @property
    def public_html(self) -> Path:
        return self.root / "public_html"

    @property
    def results_dir(self) -> Path:
        return self.public_html / "results"

    @property
    def redis_pid(self) -> Path:
        return self.redis_dir / "redis.pid"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def redis_conf(self) -> Path:
        """redis-server's config: it holds the password, so it is the stack's only."""
        return self.etc / "redis.conf"

    @property
    def sandbox_uid_base(self) -> int:
        """The first uid of this stack's builder slots, one range per state dir: builds of
        two stacks on one host never share a uid (nor its process limit).
        """
        digest = hashlib.sha256(str(self.root).encode()).digest()
        return SANDBOX_UID_BASE + int.from_bytes(digest[:4], "big") % 100_000 * 16

    def config_file(self, service: str) -> Path:
        return self.etc / f"{service}.toml"

    @property
    def _digest(self) -> str:
        return hashlib.sha256(str(self.root).encode()).hexdigest()[:12]

    @property
    def builder_host_prefix(self) -> str:
        """The start of the names of this stack's builder hosts (network namespaces)."""
        return f"copr-local-{self._digest[:8]}-"

    @property
    def builder_hosts_dir(self) -> Path:
        """The builder hosts' dirs (their sshd, copr-rpmbuild settings and slots), the
        known-hosts file of their keys and what the resalloc pool keeps about them.

        Builds on a host run as unprivileged uids that walk down to their slot, so this
        moves out of the state dir as the builder slots do (see :attr:`pool_dir`).
        """
        return self._walkable(self.root / "builder-hosts", "builder-hosts")

    @property
    def builder_known_hosts(self) -> Path:
        return self.builder_hosts_dir / "known_hosts"

    @property
    def builder_key(self) -> Path:
        """The private key the backend logs in to builder hosts with (theirs to trust)."""
        return self.backend_dir / "builder-ssh" / "id_ed25519"

    @property
    def resalloc_dir(self) -> Path:
        """resalloc-server's config, its SQLite database and its logs."""
        return self.root / "resalloc"

    @property
    def pool_dir(self) -> Path:
        """The backend's builder slots.

        When the stack runs as root, builds run as an unprivileged uid that must walk down
        to its slot.  If some parent of the state dir does not let it (a
        checkout under ``/root``), the slots live in ``/var/lib/copr-local/`` instead,
        in a dir named after the state dir.
        """
        return self._walkable(self.backend_dir / "local-pool", "local-pool")

    def _walkable(self, inside: Path, name: str) -> Path:
        if os.geteuid() != 0 or searchable_by_others(self.root):
            return inside
        return FALLBACK_POOL_ROOT / f"{self._digest}-{name}"

    def make_dirs(self) -> None:
        # Builds run sandboxed as unprivileged uids that must reach the builder slots.
        for path in (self.root, self.backend_dir, self.pool_dir.parent, self.pool_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        for path in (self.etc, self.frontend_dir, self.dist_git_dir,
                     self.results_dir, self.redis_dir, self.home):  # fmt: skip
            path.mkdir(parents=True, exist_ok=True)
        self.keygen_dir.mkdir(mode=0o700, exist_ok=True)
        # Settings, the database, uploads and keys are the services' alone.
        for path in (self.keygen_dir, self.frontend_dir, self.etc):
            path.chmod(0o700)
        # The logs name users and projects: for the stack's owner (and group) only.
        self.logs.mkdir(mode=0o750, exist_ok=True)
        # supervisord opens its own log before it applies its umask.
        (self.logs / "supervisord.log").touch(mode=0o640)
        tighten(self.logs, file_mode=0o640, dir_mode=0o750)


def tighten(root: Path, file_mode: int, dir_mode: int) -> None:
    """Take away from ``root`` and everything under it what ``file_mode``/``dir_mode``
    do not allow (what an older version of the stack left open).
    """
    for path in [root, *root.rglob("*")]:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        allowed = dir_mode if path.is_dir() else file_mode
        mode = path.stat().st_mode & 0o777
        if mode & ~allowed:
            path.chmod(mode & allowed)


def searchable_by_others(path: Path) -> bool:
    """Whether every existing dir from / down to ``path`` lets others walk through."""
    return all(
        not part.exists() or part.stat().st_mode & stat.S_IXOTH for part in [path, *path.parents]
    )


@dataclass
class StackState:
    """What ``state.json`` holds."""

    ports: dict[str, int] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    backend_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    keygen_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    supervisor_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    database_url: str | None = None
    # The database the admin account and chroots were made in (None: not yet).
    bootstrapped_database: str | None = None
    admin: str = "admin"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    """The admin's web UI password (``COPR_WEB_PASSWORD`` in ``stack.env``)."""
    # The database the admin's web password was set in (None: not yet).
    web_login_database: str | None = None
    # Where builds run (one of BUILDERS), and how many builder hosts ssh or resalloc
    # make: the last --builders and --builder-hosts given.
    builders: str = "local"
    builder_hosts: int = DEFAULT_BUILDER_HOSTS

    @classmethod
    def load(cls, layout: StackLayout) -> StackState:
        try:
            data = json.loads(layout.state_file.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as error:
            raise StackError(f"{layout.state_file} cannot be read: {error}") from None
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown or not isinstance(data.get("ports", {}), dict):
            raise StackError(
                f"{layout.state_file} is not a copr-local state file "
                f"(unexpected keys: {', '.join(unknown) or 'ports'})"
            )
        state = cls(**data)
        if state.builders not in BUILDERS:
            raise StackError(f"{layout.state_file}: unknown builders {state.builders!r}")
        return state

    def services_with_ports(self) -> tuple[str, ...]:
        """The services that listen on a port of their own in this stack."""
        if self.builders == "resalloc":
            return (*SERVICES_WITH_PORTS, "resalloc")
        return SERVICES_WITH_PORTS

    def save(self, layout: StackLayout) -> None:
        tmp = layout.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as stream:
            json.dump(asdict(self), stream, indent=2, sort_keys=True)
            stream.write("\n")
        tmp.replace(layout.state_file)

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def assign_ports(state: StackState, frontend_port: int | None) -> None:
    """Keep the saved ports that are still free, pick free ones for the rest.

    ``frontend_port`` (from ``--port``) must be free: the user asked for that one.
    """
    if frontend_port is not None:
        if not port_is_free(frontend_port):
            raise StackError(f"port {frontend_port} (--port) is in use on {HOST}")
        state.ports["frontend"] = frontend_port
    wanted = []
    for name in state.services_with_ports():
        if name == "frontend" and frontend_port is not None:
            continue
        if name not in state.ports or not port_is_free(state.ports[name]):
            wanted.append(name)
    taken = {port for name, port in state.ports.items() if name not in wanted}
    # Hold every socket until all ports are picked, so no two services get the same one.
    with ExitStack() as stack:
        for name in wanted:
            while True:
                sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                sock.bind((HOST, 0))
                port = sock.getsockname()[1]
                if port not in taken:
                    break
            taken.add(port)
            state.ports[name] = port
