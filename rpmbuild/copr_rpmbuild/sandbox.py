"""The bubblewrap sandbox that user-controlled code (specs, scripts, Makefiles) runs in.

Inside: the host's ``/usr`` and ``/etc`` read-only, a private writable ``/builddir`` (the
build's workspace), a private ``/tmp`` tmpfs with a size cap, a fresh PID, IPC and UTS
namespace, no network unless asked for, and an unprivileged user.  When copr-rpmbuild runs
as root, bwrap runs privileged without a user namespace (which chroots and many containers
refuse) and the sandboxed command drops to ``sandbox_user`` (``nobody``) inside, with all
capabilities gone and a cap on that user's processes; bwrap's no-new-privileges flag keeps
set-uid programs from giving root back.  Run unprivileged, bwrap makes a user namespace.
Each process gets an address-space limit.  Nothing of the host's ``$HOME``, ``/var`` or
``/root`` is there.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from copr_rpmbuild.errors import InfrastructureError

INSIDE_ROOT = PurePosixPath("/builddir")
INSIDE_HOST = PurePosixPath("/copr")
# Paths inside the sandbox: its /tmp and /var/tmp are private tmpfs mounts.
INSIDE_TMP = "/tmp"  # noqa: S108
INSIDE_VAR_TMP = "/var/tmp"  # noqa: S108
INSIDE_HOME = f"{INSIDE_TMP}/home"
_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass
class Sandbox:
    workspace: Path
    hostdir: Path | None = None
    network: bool = False
    tmpfs_size: int = 2 * 1024**3
    memory_bytes: int | None = None
    max_processes: int | None = None
    sandbox_user: str | None = "nobody"
    env: dict[str, str] = field(default_factory=dict)
    # Host directories bound read-write (host path -> path inside), see ``bind_mounts``.
    binds: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if shutil.which("bwrap") is None:
            raise InfrastructureError("bwrap (bubblewrap) is not installed on this builder")
        self._uid: int | None = None
        self._gid: int | None = None
        if os.geteuid() == 0 and self.sandbox_user:
            try:
                entry = pwd.getpwnam(self.sandbox_user)
            except KeyError:
                raise InfrastructureError(
                    f"sandbox user {self.sandbox_user!r} does not exist on this builder"
                ) from None
            self._uid, self._gid = entry.pw_uid, entry.pw_gid

    def describe(self) -> str:
        who = (
            f"host user {self.sandbox_user} (uid {self._uid})"
            if self._uid is not None
            else f"uid {os.geteuid()}"
        )
        net = "network enabled" if self.network else "no network"
        return (
            f"bubblewrap sandbox: read-only /usr and /etc, private /builddir and /tmp, "
            f"new PID namespace, {net}, running as {who}"
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
        """Give the workspace to the sandbox user so it can write there."""
        if self._uid is None or self._gid is None:
            return
        uid, gid = self._uid, self._gid
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
        network: bool | None = None,
    ) -> list[str]:
        use_network = self.network if network is None else network
        # Run as root, bwrap needs no user namespace (kernels refuse one inside a chroot
        # and in many containers): it unshares the rest itself, and the command drops to
        # the sandbox user inside.  Run unprivileged, bwrap gets a user namespace.
        drop: list[str] = []
        if self._uid is not None:
            drop += [
                "setpriv",
                f"--reuid={self._uid}",
                f"--regid={self._gid}",
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
        namespaces = (
            ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
            + ([] if use_network else ["--unshare-net"])
            if self._uid is not None
            else ["--unshare-all", *(["--share-net"] if use_network else [])]
        )
        bwrap = [
            "bwrap",
            *namespaces,
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
            *[arg for host, inside in self.binds.items() for arg in ("--bind", host, inside)],
            "--chdir",
            cwd or str(INSIDE_ROOT),
            "--clearenv",
        ]
        variables = {
            "HOME": INSIDE_HOME,
            "PATH": _PATH,
            "LANG": "C.UTF-8",
            "TMPDIR": INSIDE_TMP,
            "USER": "builder",
            **self.env,
            **(env or {}),
        }
        for name, value in variables.items():
            bwrap += ["--setenv", name, value]
        return [*bwrap, "--", *drop, *argv]
