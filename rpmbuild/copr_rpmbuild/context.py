"""What every step of one build shares: settings, limits, the workspace and the result dir.

A build's directory has two halves: ``box/`` is the sandbox's writable ``/builddir`` and
``host/`` holds what only copr-rpmbuild writes (macros, scripts, configs), mounted
read-only. Anything in ``box/`` may have been replaced by the sandbox — by a symlink to a
host file, say — so the host checks a path there (``checked``) before it reads or writes
it after a sandbox has run; no sandboxed process outlives its run (PID namespace).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from copr_rpmbuild import fetch, rpmtools, runner
from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.errors import BuildFailure, InfrastructureError
from copr_rpmbuild.livelog import LiveLog
from copr_rpmbuild.sandbox import Sandbox


@dataclass
class BuildContext:
    settings: RpmbuildSettings
    limits: runner.Limits
    workspace: Path
    hostdir: Path
    resultdir: Path
    memory_mb: int | None = None

    @property
    def log(self) -> LiveLog:
        return self.limits.log

    def sandbox(self, *, network: bool) -> Sandbox:
        memory = max(self.memory_mb or 0, self.settings.min_memory_mb) * 1024**2
        box = Sandbox(
            workspace=self.workspace,
            hostdir=self.hostdir,
            network=network,
            tmpfs_size=self.settings.tmpfs_size,
            memory_bytes=memory,
            max_processes=self.settings.max_processes,
            sandbox_user=self.settings.sandbox_user,
            binds=dict(self.settings.bind_mounts),
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
        command = box.command(argv, cwd=box.inside(cwd), env=env)
        return runner.run(command, self.limits, describe=describe)

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
            rpmtools.write_fallback_macros(path)
        return path


def make_workspace(settings: RpmbuildSettings) -> Path:
    """A fresh directory for one build (with ``box/`` and ``host/``), reachable by the
    sandbox user."""
    try:
        settings.workspace_dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="build-", dir=settings.workspace_dir))
        path.chmod(0o755)
        (path / "box").mkdir(mode=0o755)
        (path / "host").mkdir(mode=0o755)
    except OSError as error:
        raise InfrastructureError(
            f"cannot create a workspace in {settings.workspace_dir}: {error.strerror}"
        ) from None
    if os.geteuid() == 0 and settings.sandbox_user:
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                shutil.rmtree(path, ignore_errors=True)
                raise InfrastructureError(
                    f"the sandbox user {settings.sandbox_user} cannot reach the workspace: "
                    f"{parent} is not searchable by others (chmod o+x, or pick another "
                    "workspace_dir)"
                )
    return path
