"""Builder hosts on this machine: a network namespace with an sshd and copr-rpmbuild in it.

The tests of the remote pools and ``copr-local up --builders ssh|resalloc`` use them.  A
builder host stands for a remote machine the ``ssh`` and ``resalloc`` pools drive: it
has an address of its own (``10.233.N.2`` on a veth pair whose host end is
``10.233.N.1``; one /24 per host, N picked free), an ``sshd`` on port 22 with a host key
of its own that lets in the key the caller gives, and copr-rpmbuild (this project's
venv) with its config, state, workspace and result dirs under the host's dir — one set
per slot (``slot-<k>/rpmbuild.toml``) for a host that runs several builds at once, and a
home of its own (``home/``, so no dotfile of this machine's root runs in its sessions).
The backend reaches them only over SSH.

Services the builder needs (the frontend, dist-git, a download server) listen on the
host's loopback; ``forward`` ports are served on the namespace's loopback by a small
relay to the host's, so the builder uses the very same ``http://127.0.0.1:PORT`` URLs.

Command line (the resalloc pool's ``cmd_new`` / ``cmd_delete``)::

    python -m copr_common.builder_hosts create NAME --authorized-key FILE
        [--base-dir DIR] [--slots N] [--rpmbuild-config TOML] [--forward PORT ...]
        [--known-hosts FILE]
    python -m copr_common.builder_hosts delete NAME [--base-dir DIR]
        [--known-hosts FILE]
    python -m copr_common.builder_hosts delete-all PREFIX [--base-dir DIR]

``create`` prints the builder's address (and adds its host key to ``--known-hosts``, the
file the backend checks host keys against; ``delete`` takes it out again); ``delete``
kills the sshd and every process of the namespace (and what they started elsewhere),
removes the namespace and the host's dir, and succeeds when there is nothing to delete.
Needs root, ``ip``, ``sshd``, ``ssh-keygen``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Root's own dir on this machine (tests give one of their own); 0755 so builds reach in.
DEFAULT_BASE_DIR = Path(
    os.environ.get("COPR_BUILDER_HOSTS_DIR", "/var/tmp/copr-builder-hosts")  # noqa: S108
)
SSHD = "/usr/sbin/sshd"
# 10.233.N.0/24, one N per host; nothing else on the machine uses 10.233/16.
_NET_PREFIX = "10.233"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
_ALLOC_LOCK = Path("/run/copr-builder-hosts.lock")
# Builds of slot k of host N run as this uid + 16 N + k (clear of every real user).
_UID_BASE = 2_100_000_000
_CLONE_NEWNET = 0x40000000
# The relays this process started, reaped when their host is deleted.
_relays: dict[str, subprocess.Popen[bytes]] = {}


class BuilderHostError(RuntimeError):
    """A builder host could not be made (or its name is bad)."""


@dataclass
class BuilderHost:
    """A builder host that :func:`create` made (what ``host.json`` in its dir says)."""

    name: str
    address: str
    host_address: str
    dir: str
    slots: int = 1
    port: int = 22
    user: str = "root"
    forward_ports: list[int] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def home(self) -> Path:
        """The home of the host's user (empty: none of this machine's dotfiles)."""
        return self.path / "home"

    @property
    def host_key_file(self) -> Path:
        return self.path / "ssh_host_ed25519_key"

    def rpmbuild_config(self, slot: int = 0) -> Path:
        """The copr-rpmbuild settings of one slot (the ssh pool's ``rpmbuild_config``)."""
        return self.path / f"slot-{slot}" / "rpmbuild.toml"

    @property
    def rpmbuild_config_pattern(self) -> str:
        return str(self.path / "slot-{slot}" / "rpmbuild.toml")

    def known_hosts_line(self) -> str:
        """The line of a known-hosts file for this host."""
        key = (self.path / "ssh_host_ed25519_key.pub").read_text().split()
        where = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{where} {key[0]} {key[1]}\n"


def _run(*command: str, netns: str | None = None, check: bool = True) -> str:
    if netns is not None:
        command = ("ip", "netns", "exec", netns, *command)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise BuilderHostError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise BuilderHostError(
            f"bad builder host name {name!r}: lower-case letters, digits, '_', '.', '-'"
        )


def namespaces() -> list[str]:
    """The network namespaces of this machine."""
    out = _run("ip", "-json", "netns", "list", check=False).strip()
    return [entry["name"] for entry in json.loads(out)] if out else []


@contextlib.contextmanager
def _allocation_lock() -> Iterator[None]:
    # Hosts made at once (resalloc starts several) must not pick the same /24.
    with _ALLOC_LOCK.open("a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        yield


def _free_net() -> int:
    used = set()
    for line in _run("ip", "-o", "-4", "addr").splitlines():
        found = re.search(rf"inet {re.escape(_NET_PREFIX)}\.(\d+)\.", line)
        if found:
            used.add(int(found.group(1)))
    for number in range(1, 255):
        if number not in used:
            return number
    raise BuilderHostError(f"no free /24 left in {_NET_PREFIX}.0.0/16")


def _make_namespace(name: str) -> tuple[int, str, str]:
    with _allocation_lock():
        number = _free_net()
        host_end, ns_end = f"cbh{number}", f"cbn{number}"
        host_address, address = f"{_NET_PREFIX}.{number}.1", f"{_NET_PREFIX}.{number}.2"
        _run("ip", "netns", "add", name)
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end, "netns", name)
        _run("ip", "addr", "add", f"{host_address}/24", "dev", host_end)
        _run("ip", "link", "set", host_end, "up")
    _run("ip", "addr", "add", f"{address}/24", "dev", ns_end, netns=name)
    _run("ip", "link", "set", ns_end, "up", netns=name)
    _run("ip", "link", "set", "lo", "up", netns=name)
    _run("ip", "route", "add", "default", "via", host_address, netns=name)
    return number, host_address, address


def _passwd(user: str, home: Path) -> str:
    """The machine's /etc/passwd with ``home`` as the home of ``user``."""
    lines = []
    for line in Path("/etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[0] == user:
            fields[5] = str(home)
        lines.append(":".join(fields))
    return "\n".join(lines) + "\n"


def _sshd_config(host: BuilderHost, venv_bin: Path) -> str:
    path = f"{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return "\n".join(
        [
            f"Port {host.port}",
            f"ListenAddress {host.address}",
            f"HostKey {host.host_key_file}",
            f"PidFile {host.path / 'sshd.pid'}",
            f"AuthorizedKeysFile {host.path / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The host's dir sits under a shared tmp dir.
            "StrictModes no",
            "Subsystem sftp internal-sftp",
            # copr-rpmbuild's commands are on the PATH, as on a real builder.
            f"SetEnv PATH={path}",
            "LogLevel ERROR",
            "",
        ]
    )


def _write_slots(host: BuilderHost, number: int, settings: dict[str, Any]) -> None:
    for slot in range(host.slots):
        base = host.path / f"slot-{slot}"
        base.mkdir(mode=0o755, parents=True, exist_ok=True)
        values = {
            **settings,
            "resultdir": str(base / "results"),
            "workspace_dir": str(base / "workspace"),
            "state_dir": str(base / "state"),
            "sandbox_uid": _UID_BASE + 16 * number + slot,
        }
        host.rpmbuild_config(slot).write_text(_toml(values))


def _toml(values: dict[str, Any]) -> str:
    # Flat settings only (strings, numbers, booleans, lists of strings): what a builder
    # config needs, without a TOML writer in copr-common.
    lines = []
    for key, value in values.items():
        if isinstance(value, dict):
            raise BuilderHostError(f"rpmbuild setting {key}: tables are not supported")
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _wait_port(address: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError as error:
            if time.monotonic() > deadline:
                raise BuilderHostError(
                    f"sshd on {address}:{port} did not come up: {error}"
                ) from None
            time.sleep(0.1)


def create(
    name: str,
    authorized_key: str,
    *,
    base_dir: Path = DEFAULT_BASE_DIR,
    slots: int = 1,
    rpmbuild_settings: dict[str, Any] | None = None,
    forward_ports: Sequence[int] = (),
    venv_bin: Path | None = None,
) -> BuilderHost:
    """Make the builder host ``name``; ``authorized_key`` is an OpenSSH public key line."""
    _check_name(name)
    if name in namespaces():
        raise BuilderHostError(f"builder host {name} exists")
    if slots < 1:
        raise BuilderHostError("a builder host has at least one slot")
    venv_bin = venv_bin or Path(sys.executable).parent
    if not (venv_bin / "copr-rpmbuild").exists():
        raise BuilderHostError(f"no copr-rpmbuild in {venv_bin}")
    directory = base_dir / name
    try:
        number, host_address, address = _make_namespace(name)
        # Builds run as other uids and walk into the slot dirs: parents searchable.
        base_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        base_dir.chmod(0o755)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(mode=0o755)
        host = BuilderHost(
            name, address, host_address, str(directory), slots, forward_ports=list(forward_ports)
        )
        key = host.host_key_file
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key))
        (directory / "authorized_keys").write_text(authorized_key.strip() + "\n")
        host.home.mkdir(mode=0o700)
        (directory / "passwd").write_text(_passwd(host.user, host.home))
        (directory / "sshd_config").write_text(_sshd_config(host, venv_bin))
        _write_slots(host, number, rpmbuild_settings or {})
        (directory / "host.json").write_text(json.dumps(asdict(host), indent=2) + "\n")
        if forward_ports:
            _start_forwarder(host)
        # sshd wants its privilege separation dir (Debian's is made by its unit).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        # The sshd sees the passwd naming the host's home (``ip netns exec`` gives it a
        # mount namespace of its own, so nothing else does): bash, which sshd starts for
        # every command, reads ~/.bashrc, and this machine's root may have one that waits
        # or prints (seen: a stale pyenv rehash lock, a minute on every command).  sshd
        # takes the home from passwd, not from SetEnv.
        start = 'mount --bind "$1" /etc/passwd && exec "$2" -f "$3"'
        passwd, config = str(directory / "passwd"), str(directory / "sshd_config")
        _run("sh", "-c", start, "sh", passwd, SSHD, config, netns=name)
        _wait_port(address, host.port)
    except BaseException:
        delete(name, base_dir=base_dir)
        raise
    return host


def load(name: str, base_dir: Path = DEFAULT_BASE_DIR) -> BuilderHost | None:
    """The builder host ``name`` as :func:`create` made it, or None."""
    try:
        data = json.loads((base_dir / name / "host.json").read_text())
    except (OSError, ValueError):
        return None
    return BuilderHost(**data)


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return parents


def _with_descendants(roots: set[int]) -> set[int]:
    # Sandboxed build processes live in network namespaces of their own: found by
    # their ancestry, not by ``ip netns pids``.
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, queue = set(), list(roots)
    while queue:
        pid = queue.pop()
        if pid not in found:
            found.add(pid)
            queue.extend(children.get(pid, []))
    return found


def _namespace_pids(name: str) -> set[int]:
    out = _run("ip", "netns", "pids", name, check=False)
    return {int(pid) for pid in out.split() if pid.isdigit()}


def processes(name: str) -> set[int]:
    """Every process of the builder host ``name``: those in its namespace and below them."""
    _check_name(name)
    return _with_descendants(_namespace_pids(name))


def _forwarder_pid(directory: Path) -> set[int]:
    try:
        pid = int((directory / "forward.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return set()
    args = cmdline.split(b"\0")
    return {pid} if b"forward" in args and directory.name.encode() in args else set()


def delete(name: str, base_dir: Path = DEFAULT_BASE_DIR) -> None:
    """Kill everything of the builder host ``name`` and remove it (nothing there: fine)."""
    _check_name(name)
    directory = base_dir / name
    exists = name in namespaces()
    for _ in range(50):
        roots = _forwarder_pid(directory)
        if exists:
            roots |= _namespace_pids(name)
        victims = _with_descendants(roots) - {os.getpid()}
        if not victims:
            break
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    relay = _relays.pop(name, None)
    if relay is not None:
        relay.kill()
        relay.wait(timeout=30)
    if exists:
        _run("ip", "netns", "del", name, check=False)
    host = load(name, base_dir)
    if host is not None:
        # The veth pair goes with the namespace; its host end is removed just in case.
        number = host.host_address.split(".")[2]
        _run("ip", "link", "del", f"cbh{number}", check=False)
    shutil.rmtree(directory, ignore_errors=True)


def delete_all(prefix: str, base_dir: Path = DEFAULT_BASE_DIR) -> list[str]:
    """Delete every builder host whose name starts with ``prefix`` (a test run's)."""
    names = {name for name in namespaces() if name.startswith(prefix)}
    if base_dir.is_dir():
        names |= {path.name for path in base_dir.iterdir() if path.name.startswith(prefix)}
    for name in sorted(names):
        delete(name, base_dir)
    return sorted(names)


def make_client_key(path: Path, comment: str) -> Path:
    """An ed25519 key pair at ``path`` (and ``path.pub``) for reaching builder hosts, made
    unless it is there; returns the public key's path.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    return path.with_name(path.name + ".pub")


def add_known_host(path: Path, host: BuilderHost) -> None:
    """Add the host's key to the known-hosts file ``path`` (its lines for the address go)."""
    _edit_known_hosts(path, host.address, host.known_hosts_line())


def remove_known_host(path: Path, address: str) -> None:
    """Take the lines of ``address`` out of the known-hosts file ``path``."""
    _edit_known_hosts(path, address, "")


def _edit_known_hosts(path: Path, address: str, line: str) -> None:
    # Hosts are made and deleted at once (resalloc): one writer at a time, whole-file swaps.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lines = path.read_text().splitlines(keepends=True)
        except FileNotFoundError:
            lines = []
        names = {address, f"[{address}]:22"}
        kept = [entry for entry in lines if entry.split(" ", 1)[0] not in names]
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text("".join(kept) + line)
        partial.replace(path)


# The relay: serves ports on the namespace's loopback, connecting to the host's.


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


def _start_forwarder(host: BuilderHost) -> None:
    log = (host.path / "forward.log").open("ab")
    command = [sys.executable, "-m", "copr_common.builder_hosts", "forward"]
    command += [host.name, "--base-dir", str(host.path.parent)]
    proc = subprocess.Popen(
        command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    _relays[host.name] = proc
    (host.path / "forward.pid").write_text(f"{proc.pid}\n")
    for port in host.forward_ports:
        deadline = time.monotonic() + 20
        while not _listening_in(host.name, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BuilderHostError(f"the relay of {host.name} did not start (forward.log)")
            time.sleep(0.1)


def _listening_in(name: str, port: int) -> bool:
    out = _run("ss", "-Htln", f"sport = :{port}", netns=name, check=False)
    return bool(out.strip())


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _serve(listener: socket.socket, port: int) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, port), daemon=True).start()


def forward(host: BuilderHost) -> None:
    """Relay ``host.forward_ports`` from the namespace's loopback to this one's (runs on)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    theirs = os.open(f"/run/netns/{host.name}", os.O_RDONLY)
    listeners = []
    # A socket stays in the namespace it was made in: listen there, connect from here.
    _setns(theirs)
    try:
        for port in host.forward_ports:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(64)
            listeners.append((listener, port))
    finally:
        _setns(own)
    threads = [threading.Thread(target=_serve, args=pair, daemon=True) for pair in listeners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m copr_common.builder_hosts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create", help="make a builder host; prints its address")
    make.add_argument("name")
    make.add_argument("--authorized-key", type=Path, required=True, help="public key file")
    make.add_argument("--slots", type=int, default=1, help="builds at once")
    make.add_argument("--rpmbuild-config", type=Path, help="copr-rpmbuild settings (TOML)")
    make.add_argument("--forward", type=int, action="append", default=[], metavar="PORT")
    make.add_argument("--known-hosts", type=Path, help="add the host key to this file")
    remove = sub.add_parser("delete", help="remove a builder host (fine when it is gone)")
    remove.add_argument("name")
    remove.add_argument("--known-hosts", type=Path, help="take the host key out of it")
    remove_all = sub.add_parser("delete-all", help="remove every builder host of a prefix")
    remove_all.add_argument("prefix")
    relay = sub.add_parser("forward", help="(internal) the relay of a builder host")
    relay.add_argument("name")
    for command in (make, remove, remove_all, relay):
        command.add_argument("--base-dir", type=Path, default=DEFAULT_BASE_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            settings: dict[str, Any] = {}
            if args.rpmbuild_config is not None:
                settings = tomllib.loads(args.rpmbuild_config.read_text())
            host = create(
                args.name,
                args.authorized_key.read_text(),
                base_dir=args.base_dir,
                slots=args.slots,
                rpmbuild_settings=settings,
                forward_ports=args.forward,
            )
            if args.known_hosts is not None:
                add_known_host(args.known_hosts, host)
            print(host.address)
        elif args.command == "delete":
            gone = load(args.name, args.base_dir)
            delete(args.name, args.base_dir)
            if args.known_hosts is not None and gone is not None:
                remove_known_host(args.known_hosts, gone.address)
        elif args.command == "delete-all":
            for name in delete_all(args.prefix, args.base_dir):
                print(name)
        else:
            host_or_none = load(args.name, args.base_dir)
            if host_or_none is None:
                raise BuilderHostError(f"no builder host {args.name}")
            forward(host_or_none)
    except (BuilderHostError, OSError, ValueError) as error:
        print(f"builder_hosts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
