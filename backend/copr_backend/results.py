"""The published results tree: where each build's files go, and what is done to them.

::

    <results_dir>/<owner>/<dirname>/pubkey.gpg
    <results_dir>/<owner>/<dirname>/srpm-builds/<build_id:08d>/          source build
    <results_dir>/<owner>/<dirname>/<chroot>/repodata/
    <results_dir>/<owner>/<dirname>/<chroot>/<build_id:08d>-<package>/   RPM build
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from copr_common.names import (
    ProjectDirName,
    build_dir_name,
    chroot_results_path,
    srpm_results_path,
    validate_owner,
)

# Logs are kept compressed once a build has ended (the live log while it runs).
LOG_NAMES = ("builder-live.log", "backend.log")


class ResultsTree:
    """Paths in the published results tree, checked against the naming rules."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def project_dir(self, owner: str, dirname: str) -> Path:
        validate_owner(owner)
        ProjectDirName.parse(dirname)
        return self.root / owner / dirname

    def chroot_dir(self, owner: str, dirname: str, chroot: str) -> Path:
        return self.root / chroot_results_path(owner, dirname, chroot)

    def build_dir(self, owner: str, dirname: str, chroot: str, build_id: int, package: str) -> Path:
        return self.chroot_dir(owner, dirname, chroot) / build_dir_name(build_id, package)

    def srpm_dir(self, owner: str, dirname: str, build_id: int) -> Path:
        return self.root / srpm_results_path(owner, dirname, build_id)

    def url_of(self, path: Path, results_url: str) -> str:
        return f"{results_url.rstrip('/')}/{path.relative_to(self.root).as_posix()}"


def gzip_logs(directory: Path) -> list[Path]:
    """Compress the logs of an ended build in place (``X.log`` → ``X.log.gz``)."""
    done = []
    for name in LOG_NAMES:
        path = directory / name
        if not path.is_file():
            continue
        target = directory / f"{name}.gz"
        with path.open("rb") as source, gzip.open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
        path.unlink()
        done.append(target)
    return done


def directory_size(directory: Path) -> int:
    """Bytes the regular files under ``directory`` take (what the frontend counts against
    the owner's quota); symlinks are not followed, and a file that goes away meanwhile
    counts nothing.
    """
    total = 0
    for parent, _dirs, files in os.walk(directory):
        for name in files:
            try:
                info = (Path(parent) / name).lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def remove_tree(path: Path, root: Path) -> bool:
    """Remove ``path`` (a dir or file) if it lies inside ``root``; whether it existed."""
    resolved = path.resolve()
    if resolved == root.resolve() or not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"refusing to remove {path}: not inside {root}")
    if path.is_symlink() or path.is_file():
        path.unlink()
        return True
    if path.is_dir():
        shutil.rmtree(path)
        return True
    return False


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when it is missing, not JSON or no object.

    For files a builder or an earlier worker wrote: read, never trusted.
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
