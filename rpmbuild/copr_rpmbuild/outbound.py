"""Outbound-only network for a sandbox that asks for network (``enable_net``, custom
scripts, ``make srpm``).

The sandbox always gets a network namespace of its own (``bwrap --unshare-net``).  With
network, slirp4netns attaches a tap device to it: the sandbox's packets become ordinary
connections that slirp4netns opens from the host, so the sandbox reaches what the host
reaches — but nothing listens for it, and its own ``127.0.0.1`` is its own loopback.
slirp4netns runs with ``--disable-host-loopback`` (its gateway address does not lead to
the host's loopback) and, as root, in a sandbox of its own with its capabilities dropped.

slirp4netns connects from the host's network namespace, so it could still reach services
that listen on the host's other addresses.  As root, an nftables table closes that: it
rejects whatever sockets of the build's gid (slirp4netns runs with it) send to any
address of the host and to ``blocked_networks`` — except DNS (port 53) to the host's
own resolvers, so that a resolver on the host's loopback (systemd-resolved, dnsmasq)
keeps working.  The sandbox's ``/etc/resolv.conf`` names slirp4netns' DNS forwarder,
which passes queries on to the host's resolver.

Sequence: bwrap starts with ``--info-fd`` (it reports its child's pid there) and
``--block-fd`` (the sandboxed command waits for a byte there); slirp4netns joins the
child's network namespace and says on its ready fd when the interface is up; then the
command runs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from copr_rpmbuild.errors import InfrastructureError

HOST_RESOLV_CONF = Path("/etc/resolv.conf")
# slirp4netns' defaults: the sandbox is 10.0.2.100 on 10.0.2.0/24, 10.0.2.3 forwards DNS.
SLIRP_NAMESERVER = "10.0.2.3"
TAP_DEVICE = "tap0"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


def host_nameservers(text: str) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                found.append(str(ipaddress.ip_address(parts[1].split("%", 1)[0])))
            except ValueError:
                continue
    return found


def sandbox_resolv_conf(host_text: str) -> str:
    """The sandbox's resolv.conf: slirp4netns' forwarder, the host's search and options."""
    kept = [
        line
        for line in host_text.splitlines()
        if line.split()[:1] and line.split()[0] in ("search", "domain", "options")
    ]
    return "\n".join([f"nameserver {SLIRP_NAMESERVER}", *kept]) + "\n"


def resolv_conf_mount_point() -> str:
    """Where the sandbox's resolv.conf goes: where the host's ``/etc/resolv.conf`` leads
    (a link into ``/run`` on systemd hosts), since the sandbox sees the host's ``/etc``."""
    if HOST_RESOLV_CONF.is_symlink():
        return os.path.realpath(HOST_RESOLV_CONF)
    return str(HOST_RESOLV_CONF)


@dataclass
class HostGuard:
    """An nftables table that rejects what sockets of ``gid`` send to the host's own
    addresses and to ``blocked`` networks; DNS to ``nameservers`` stays allowed.

    One table per build process, made before and deleted after each run, so builders of
    one host never touch each other's tables.
    """

    nft: str
    gid: int
    nameservers: Sequence[str] = ()
    blocked: Sequence[str] = ()
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"copr_rpmbuild_{self.gid}_{os.getpid()}"

    def ruleset(self) -> str:
        who = f"meta skgid {self.gid}"
        rules = []
        for family, addresses in _by_family(self.nameservers).items():
            rules.append(
                f"{who} {family} daddr {{ {', '.join(addresses)} }} "
                "meta l4proto { tcp, udp } th dport 53 accept"
            )
        targets = ["fib daddr type local"]
        targets += [
            f"{family} daddr {{ {', '.join(networks)} }}"
            for family, networks in _by_family(self.blocked).items()
        ]
        for target in targets:
            # A TCP reset fails a connect() at once; anything else gets an ICMP error.
            rules.append(f"{who} {target} meta l4proto tcp reject with tcp reset")
            rules.append(f"{who} {target} reject")
        body = "\n".join(f"    {rule}" for rule in rules)
        # Adding, deleting and re-adding in one transaction replaces a stale table of the
        # same name (a reused pid) atomically.
        return (
            f"add table inet {self.name}\n"
            f"delete table inet {self.name}\n"
            f"table inet {self.name} {{\n"
            "  chain output {\n"
            "    type filter hook output priority filter; policy accept;\n"
            f"{body}\n"
            "  }\n"
            "}\n"
        )

    def install(self) -> None:
        remove_stale_guards(self.nft, self.gid)
        self._nft(self.ruleset(), "set up")

    def remove(self) -> None:
        with contextlib.suppress(InfrastructureError):
            self._nft(f"delete table inet {self.name}\n", "remove")

    def _nft(self, script: str, what: str) -> None:
        command = shutil.which(self.nft)
        if command is None:
            raise InfrastructureError(
                f"{self.nft} (nftables) is not installed: it keeps the host's addresses out "
                "of reach of builds with network (install nftables, or set "
                "block_host_addresses = false)"
            )
        try:
            result = subprocess.run(
                [command, "-f", "-"],
                input=script.encode(),
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise InfrastructureError(f"cannot {what} the sandbox's firewall: {error}") from None
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise InfrastructureError(f"cannot {what} the sandbox's firewall: {message}")


def remove_stale_guards(nft: str, gid: int) -> list[str]:
    """Delete the guard tables of ``gid`` whose build process is gone (it was killed
    before it could delete its own); the names deleted.  Root only; never fails."""
    command = shutil.which(nft)
    if command is None or os.geteuid() != 0:
        return []
    prefix = f"copr_rpmbuild_{gid}_"
    try:
        listed = subprocess.run(
            [command, "list", "tables"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    stale = []
    for line in listed.stdout.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[:2] != ["table", "inet"] or not parts[2].startswith(prefix):
            continue
        pid = parts[2].removeprefix(prefix)
        if pid.isdigit() and not _alive(int(pid)):
            stale.append(parts[2])
    if stale:
        script = "".join(f"delete table inet {name}\n" for name in stale)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [command, "-f", "-"], input=script.encode(), capture_output=True, timeout=30
            )
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _by_family(items: Sequence[str]) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for item in items:
        network = ipaddress.ip_network(item, strict=False)
        family = "ip" if network.version == 4 else "ip6"
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        families.setdefault(family, []).append(text)
    return families


class OutboundNetwork:
    """slirp4netns for one sandboxed command; see the module docstring for the sequence.

    ``gid`` is the build's gid when copr-rpmbuild runs as root (slirp4netns runs as root
    with that gid, which the guard's rules match); None when it runs unprivileged, in
    bwrap's user namespace.
    """

    def __init__(self, slirp4netns: str, gid: int | None, guard: HostGuard | None) -> None:
        command = shutil.which(slirp4netns)
        if command is None:
            raise InfrastructureError(
                f"{slirp4netns} is not installed: builds with network need it (package "
                "slirp4netns)"
            )
        self.command = command
        self.gid = gid
        self.guard = guard
        # Our ends of the pipes, by name; each is closed once (a closed number may be
        # reused by the next open).
        self._fds: dict[str, int] = {}
        self._fds["info_read"], self._fds["info_write"] = os.pipe()
        self._fds["block_read"], self._fds["block_write"] = os.pipe()
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def bwrap_args(self) -> list[str]:
        fds = self._fds
        return ["--info-fd", str(fds["info_write"]), "--block-fd", str(fds["block_read"])]

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self._fds["info_write"], self._fds["block_read"])

    def attach(self) -> None:
        """Connect the started bwrap's namespace, then let its command run."""
        self._close("info_write")
        self._close("block_read")
        pid = self._child_pid()
        if pid is None:
            # bwrap failed before making its namespaces: its exit status and message say why.
            return
        if self.guard is not None:
            self.guard.install()
        self._start_slirp(pid)
        os.write(self._fds["block_write"], b"1")
        self._close("block_write")

    def close(self) -> None:
        # slirp4netns exits when its exit fd closes.
        for name in list(self._fds):
            self._close(name)
        if self._process is not None:
            try:
                self._process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._output is not None:
            self._output.close()
        if self.guard is not None:
            self.guard.remove()

    def _child_pid(self) -> int | None:
        data = b""
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InfrastructureError("bwrap did not report its sandbox's pid in time")
            ready, _, _ = select.select([self._fds["info_read"]], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._fds["info_read"], 4096)
            if not chunk:
                return None
            data += chunk
            try:
                info = json.loads(data)
            except ValueError:
                continue
            return int(info["child-pid"])

    def _start_slirp(self, pid: int) -> None:
        ready_read, ready_write = os.pipe()
        exit_read, self._fds["exit_write"] = os.pipe()
        argv = [
            self.command,
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            "--enable-seccomp",
            f"--ready-fd={ready_write}",
            f"--exit-fd={exit_read}",
        ]
        if self.gid is not None:
            # Root without a user namespace: slirp4netns locks itself into a mount
            # namespace of its own and drops its capabilities once the tap is up; it keeps
            # the build's gid for the guard's rules.
            argv = ["setpriv", f"--regid={self.gid}", "--clear-groups", "--", *argv]
            argv += ["--enable-sandbox", str(pid), TAP_DEVICE]
        else:
            argv += [
                f"--userns-path=/proc/{pid}/ns/user",
                "--netns-type=path",
                f"/proc/{pid}/ns/net",
                TAP_DEVICE,
            ]
        # Kept open until close(): a failure quotes what slirp4netns said.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                pass_fds=(ready_write, exit_read),
                start_new_session=True,
            )
        except OSError as error:
            raise InfrastructureError(f"cannot run slirp4netns: {error.strerror}") from None
        finally:
            os.close(ready_write)
            os.close(exit_read)
        try:
            self._wait_ready(ready_read)
        finally:
            os.close(ready_read)

    def _wait_ready(self, ready_read: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([ready_read], [], [], 0.2)
            if ready and os.read(ready_read, 1):
                return
            if ready or self._process.poll() is not None:
                break
        raise InfrastructureError(f"slirp4netns did not bring the network up: {self._said()}")

    def _said(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        lines = self._output.read(8192).decode(errors="replace").splitlines()
        # The useful line is the last one that is not slirp4netns' experimental warning.
        useful = [line for line in lines if line.strip() and "experimental" not in line]
        return useful[-1] if useful else "no message"

    def _close(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
