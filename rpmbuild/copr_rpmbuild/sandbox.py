"""The bubblewrap sandbox that user-controlled code (specs, scripts, Makefiles) runs in.

Inside: the host's ``/usr`` and ``/etc`` read-only, a private writable ``/builddir`` (the
build's workspace), a private ``/tmp`` tmpfs with a size cap, fresh PID, IPC, UTS and
network namespaces, and an unprivileged user.  A command that may use the network gets
outbound connections only, through slirp4netns (see :mod:`copr_rpmbuild.outbound`);
any other command has no network at all.

When copr-rpmbuild runs as root, bwrap runs privileged without a user namespace (which
chroots and many containers refuse) and the sandboxed command drops to ``sandbox_uid``
inside — a uid of this builder's own, so that its process limit is this build's alone —
with all capabilities gone and bwrap's no-new-privileges flag keeping set-uid programs
from giving root back.  The sandbox sees that uid as the user ``builder``.  Run
unprivileged, bwrap makes a user namespace and the command keeps the caller's uid.
Each process gets an address-space limit.  Nothing of the host's ``$HOME``, ``/var`` or
``/root`` is there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from copr_rpmbuild.errors import InfrastructureError
from copr_rpmbuild.outbound import (
    HOST_RESOLV_CONF,
    HostGuard,
    OutboundNetwork,
    host_nameservers,
    resolv_conf_mount_point,
    sandbox_resolv_conf,
)

INSIDE_ROOT = PurePosixPath("/builddir")
INSIDE_HOST = PurePosixPath("/copr")
# Paths inside the sandbox: its /tmp and /var/tmp are private tmpfs mounts.
INSIDE_TMP = "/tmp"  # noqa: S108
INSIDE_VAR_TMP = "/var/tmp"  # noqa: S108
INSIDE_HOME = f"{INSIDE_TMP}/home"
BUILD_USER = "builder"
_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass
class NetworkPolicy:
    """How a sandbox with network reaches out (settings of the same names)."""

    slirp4netns: str = "slirp4netns"
    nft: str = "nft"
    block_host_addresses: bool = True
    blocked_networks: Sequence[str] = ()


@dataclass
class Launch:
    """A sandboxed command ready to start: its argv, the fds bwrap must inherit, and what
    to do once it has started (connect its network) and after it has ended."""

    argv: list[str]
    network: OutboundNetwork | None = None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return self.network.pass_fds if self.network is not None else ()

    @property
    def on_start(self) -> Callable[[], None] | None:
        return self.network.attach if self.network is not None else None

    def close(self) -> None:
        if self.network is not None:
            self.network.close()


@dataclass
class Sandbox:
    workspace: Path
    hostdir: Path | None = None
    network: bool = False
    tmpfs_size: int = 2 * 1024**3
    memory_bytes: int | None = None
    max_processes: int | None = None
    # The uid and gid the command drops to when copr-rpmbuild runs as root.
    uid: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    policy: NetworkPolicy = field(default_factory=NetworkPolicy)

    def __post_init__(self) -> None:
        if shutil.which("bwrap") is None:
            raise InfrastructureError("bwrap (bubblewrap) is not installed on this builder")
        self._uid: int | None = self.uid if os.geteuid() == 0 else None

    @property
    def drops_privileges(self) -> bool:
        return self._uid is not None

    def describe(self) -> str:
        who = (
            f"uid {self._uid} ({BUILD_USER}, this builder's own)"
            if self._uid is not None
            else f"uid {os.geteuid()} in a user namespace"
        )
        if not self.network:
            net = "no network"
        elif self._uid is not None and self.policy.block_host_addresses:
            net = "outbound-only network (slirp4netns; the host's addresses blocked)"
        else:
            net = "outbound-only network (slirp4netns; the host's loopback blocked)"
        return (
            f"bubblewrap sandbox: read-only /usr and /etc, private /builddir and /tmp, "
            f"new PID and network namespaces, {net}, running as {who}"
        )

    def inside(self, host_path: Path) -> str:
        """Where ``host_path`` (in the workspace or the host dir) appears in the sandbox."""
        mounts = [(self.workspace, INSIDE_ROOT)]
        if self.hostdir is not None:
            mounts.append((self.hostdir, INSIDE_HOST))
        for host_root, inner in mounts:
            try:
                relative = host_path.resolve().relative_to(host_root.resolve())
            except ValueError:
                continue
            return str(inner / relative.as_posix()) if str(relative) != "." else str(inner)
        raise InfrastructureError(f"{host_path} is outside the build workspace")

    def hand_over(self) -> None:
        """Give the workspace to the sandbox's uid so it can write there."""
        if self._uid is None:
            return
        uid = gid = self._uid
        os.chown(self.workspace, uid, gid)
        for dirpath, dirs, files in os.walk(self.workspace):
            for name in dirs + files:
                os.chown(Path(dirpath) / name, uid, gid, follow_symlinks=False)

    def command(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[str]:
        """The bwrap command line for ``argv`` without network (a short query)."""
        return self._bwrap(argv, cwd=cwd, env=env, network=None)

    def launch(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Launch:
        """``argv`` in the sandbox, with this sandbox's network (outbound only)."""
        if not self.network:
            return Launch(self._bwrap(argv, cwd=cwd, env=env, network=None))
        guard = None
        nameservers: list[str] = []
        host_resolv = _read(HOST_RESOLV_CONF)
        if self._uid is not None and self.policy.block_host_addresses:
            nameservers = host_nameservers(host_resolv)
            guard = HostGuard(
                self.policy.nft, self._uid, nameservers, list(self.policy.blocked_networks)
            )
        network = OutboundNetwork(self.policy.slirp4netns, self._uid, guard)
        try:
            resolv = self._host_file("resolv.conf", sandbox_resolv_conf(host_resolv))
            argv = self._bwrap(argv, cwd=cwd, env=env, network=network, resolv_conf=resolv)
        except BaseException:
            network.close()
            raise
        return Launch(argv, network)

    def _host_file(self, name: str, text: str) -> Path:
        """A file copr-rpmbuild writes for the sandbox to read (in the host dir)."""
        if self.hostdir is None:
            raise InfrastructureError("the sandbox has no host dir for its own files")
        path = self.hostdir / ".sandbox" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
        return path

    def _identity_files(self) -> list[str]:
        """``/etc/passwd`` and ``/etc/group`` naming the build's uid ``builder``: tools
        that look their user up (rpmbuild for the SRPM's file owners, git, ssh) find it."""
        if self._uid is None or self.hostdir is None:
            return []
        uid = self._uid
        passwd = f"{BUILD_USER}:x:{uid}:{uid}:Copr build user:{INSIDE_HOME}:/bin/sh\n"
        group = f"{BUILD_USER}:x:{uid}:\n"
        # Ours first: a host account of the same name does not shadow it.
        args: list[str] = []
        for name, ours in (("passwd", passwd), ("group", group)):
            path = self._host_file(name, ours + _read(Path("/etc") / name))
            args += ["--ro-bind", str(path), f"/etc/{name}"]
        return args

    def _bwrap(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None,
        env: Mapping[str, str] | None,
        network: OutboundNetwork | None,
        resolv_conf: Path | None = None,
    ) -> list[str]:
        # Run as root, bwrap needs no user namespace (kernels refuse one inside a chroot
        # and in many containers): it unshares the rest itself, and the command drops to
        # the build's uid inside.  Run unprivileged, bwrap gets a user namespace.
        drop: list[str] = []
        if self._uid is not None:
            drop += [
                "setpriv",
                f"--reuid={self._uid}",
                f"--regid={self._uid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ]
        limits = []
        if self.memory_bytes:
            limits.append(f"--as={self.memory_bytes}")
        if self.max_processes and self._uid is not None:
            limits.append(f"--nproc={self.max_processes}")
        if limits:
            drop = ["prlimit", *limits, "--", *drop]
        # The network namespace is always new: with network, slirp4netns connects it.
        namespaces = (
            [
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-uts",
                "--unshare-net",
                "--unshare-cgroup-try",
            ]
            if self._uid is not None
            else ["--unshare-all"]
        )
        bwrap = [
            "bwrap",
            *namespaces,
            *(network.bwrap_args if network is not None else []),
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "copr-builder",
            "--ro-bind",
            "/usr",
            "/usr",
            "--ro-bind",
            "/etc",
            "/etc",
            *self._identity_files(),
            *(["--ro-bind", str(resolv_conf), resolv_conf_mount_point()] if resolv_conf else []),
        ]
        for name in _TOP_LEVEL:
            host = Path("/") / name
            if host.is_symlink():
                bwrap += ["--symlink", str(host.readlink()), f"/{name}"]
            elif host.is_dir():
                bwrap += ["--ro-bind", str(host), f"/{name}"]
        bwrap += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # World-writable like a real /tmp: a privileged bwrap makes them root's.
            "--perms",
            "1777",
            "--size",
            str(self.tmpfs_size),
            "--tmpfs",
            INSIDE_TMP,
            "--perms",
            "1777",
            "--dir",
            INSIDE_HOME,
            "--perms",
            "1777",
            "--size",
            str(self.tmpfs_size),
            "--tmpfs",
            INSIDE_VAR_TMP,
            "--bind",
            str(self.workspace),
            str(INSIDE_ROOT),
            *(["--ro-bind", str(self.hostdir), str(INSIDE_HOST)] if self.hostdir else []),
            "--chdir",
            cwd or str(INSIDE_ROOT),
            "--clearenv",
        ]
        variables = {
            "HOME": INSIDE_HOME,
            "PATH": _PATH,
            "LANG": "C.UTF-8",
            "TMPDIR": INSIDE_TMP,
            "USER": BUILD_USER,
            **self.env,
            **(env or {}),
        }
        for name, value in variables.items():
            bwrap += ["--setenv", name, value]
        return [*bwrap, "--", *drop, *argv]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
