"""What every step of one build shares: settings, limits, the workspace and the result dir.

A build's directory has two halves: ``box/`` is the sandbox's writable ``/builddir`` and
``host/`` holds what only copr-rpmbuild writes (macros, scripts, configs), mounted
read-only. Anything in ``box/`` may have been replaced by the sandbox — by a symlink to a
host file, say — so the host checks a path there (``checked``) before it reads or writes
it after a sandbox has run; no sandboxed process outlives its run (PID namespace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from copr_rpmbuild import diagnosis, fetch, rpmtools, runner
from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.livelog import LiveLog
from copr_rpmbuild.sandbox import NetworkPolicy, Sandbox


@dataclass
class BuildContext:
    settings: RpmbuildSettings
    limits: runner.Limits
    workspace: Path
    hostdir: Path
    resultdir: Path
    memory_mb: int | None = None
    task_macros: dict[str, str] = field(default_factory=dict)
    """Macros every rpm and rpmbuild run of this build gets (``%copr_username``, ...)."""

    @property
    def log(self) -> LiveLog:
        return self.limits.log

    @property
    def memory_limit_mb(self) -> int:
        """The address space each sandboxed process may use, in MiB."""
        return max(self.memory_mb or 0, self.settings.min_memory_mb)

    def command_failed(self, what: str, status: int) -> BuildFailure:
        """The failure of the command that just ended with ``status``, with the reason its
        output gives (see :mod:`copr_rpmbuild.diagnosis`)."""
        output = self.limits.output.text()
        return BuildFailure(diagnosis.command_failed(what, status, output, self.memory_limit_mb))

    def sandbox(self, *, network: bool) -> Sandbox:
        settings = self.settings
        memory = self.memory_limit_mb * 1024**2
        box = Sandbox(
            workspace=self.workspace,
            hostdir=self.hostdir,
            network=network,
            tmpfs_size=settings.tmpfs_size,
            memory_bytes=memory,
            max_processes=settings.max_processes,
            uid=settings.sandbox_uid,
            policy=NetworkPolicy(
                slirp4netns=settings.slirp4netns_command,
                nft=settings.nft_command,
                block_host_addresses=settings.block_host_addresses,
                blocked_networks=settings.blocked_networks,
            ),
        )
        box.hand_over()
        return box

    def download(self, url: str, dest: Path) -> Path:
        return fetch.download(
            url,
            dest,
            enabled=self.settings.enabled_protocols,
            max_size=self.settings.max_download_size,
            limits=self.limits,
        )

    def clone(self, url: str, dest: Path, committish: str | None) -> str:
        return fetch.git_clone(
            url,
            dest,
            committish=committish,
            enabled=self.settings.enabled_protocols,
            limits=self.limits,
        )

    def run_sandboxed(
        self,
        argv: list[str],
        *,
        cwd: Path,
        network: bool,
        describe: str,
        env: dict[str, str] | None = None,
    ) -> int:
        box = self.sandbox(network=network)
        launch = box.launch(argv, cwd=box.inside(cwd), env=env)
        try:
            return runner.run(
                launch.argv,
                self.limits,
                describe=describe,
                pass_fds=launch.pass_fds,
                on_start=launch.on_start,
            )
        finally:
            launch.close()

    def subdir(self, name: str) -> Path:
        """``box/<name>``, a real directory (made if missing, never a link)."""
        path = self.workspace / name
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise BuildFailure(f"{name} in the build workspace is not a directory")
        path.mkdir(exist_ok=True)
        return path

    def checked(self, path: Path) -> Path:
        """``path`` with links resolved, refused unless it stays inside the workspace."""
        resolved = path.resolve()
        root = self.workspace.resolve()
        if resolved != root and root not in resolved.parents:
            raise BuildFailure(f"{path.name} points outside the build workspace")
        return resolved

    @property
    def macros_file(self) -> Path:
        path = self.hostdir / "copr.macros"
        if not path.exists():
            rpmtools.write_fallback_macros(path, self.task_macros)
        return path
