"""Importing one build's SRPM: download, check, unpack, store sources, commit branches.

:func:`import_srpm` does the work on a local SRPM and raises :class:`ImportFailure` (or
:class:`~copr_distgit.srpm.SrpmError`) with a message for the build's owner.
:func:`run_import` wraps it for a task from the frontend: download, a per-import log
(``<per-task-log dir>/<build_id>.log``), and the payload for ``import-completed/``, which is
``{"build_id", "branch_commits": {branch: commit}, "reponame", "pkg_name", "pkg_version"}``
on success and ``{"build_id", "branch_commits": {}, "error": "<why>"}`` on failure (the
frontend fails every chroot whose branch has no commit).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
import requests

from copr_distgit.licenses import LicenseRefused, check_license
from copr_distgit.lookaside import LookasideCache
from copr_distgit.repos import PackageRepos
from copr_distgit.settings import DistGitSettings
from copr_distgit.srpm import SOURCES_FILE, SrpmError, inspect_and_unpack
from copr_distgit.task import ImportTask

log = logging.getLogger("copr_distgit.import")

DOWNLOAD_CHUNK = 256 * 1024


class ImportFailure(Exception):
    """The import cannot succeed; ``str()`` is the message for the build's owner."""


@dataclass(frozen=True)
class ImportResult:
    """What a successful import made: the repository, a commit per branch, name and version."""

    reponame: str
    branch_commits: dict[str, str]
    pkg_name: str
    pkg_version: str


def import_srpm(settings: DistGitSettings, task: ImportTask, srpm: Path) -> ImportResult:
    """Import the local file ``srpm`` for ``task``; see the module docstring."""
    repos = PackageRepos(settings.git_root)
    lookaside = LookasideCache(settings.lookaside_root, settings.lookaside_hash)
    settings.work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.work_root, prefix="unpack-") as scratch:
        package = inspect_and_unpack(srpm, Path(scratch) / "files", settings.max_srpm_size)
        if settings.license_check:
            try:
                identifiers = check_license(
                    package.license, settings.license_allowed, settings.license_denied
                )
            except LicenseRefused as error:
                raise ImportFailure(str(error)) from None
            log.info("License %r: %s accepted", package.license, ", ".join(identifiers))
        if package.name != task.pkg_name:
            # As in Copr: the build belongs to the package it was submitted for, whatever
            # its spec calls itself; the repo is the package's, the spec keeps its name.
            log.info(
                "the SRPM holds package %r; importing it as package %r of build %s",
                package.name,
                task.pkg_name,
                task.build_id,
            )
        log.info(
            "%s: spec %s, patches %s, sources %s",
            package.nevr,
            package.spec,
            list(package.patches) or "none",
            list(package.sources) or "none",
        )
        files = {package.spec: package.path(package.spec).read_bytes()}
        for patch in package.patches:
            files[patch] = package.path(patch).read_bytes()
        lines = []
        # Sources first: a branch never points at a sources file whose tarball is missing.
        for source in package.sources:
            entry = lookaside.store(task.reponame, package.path(source))
            log.info("lookaside: %s %s %s", source, entry.hashtype, entry.digest)
            lines.append(entry.sources_line() + "\n")
        files[SOURCES_FILE] = "".join(lines).encode()

        author = pygit2.Signature(settings.git_author_name, settings.git_author_email)
        message = f"automatic import of {package.nevr}\n\nCopr build {task.build_id}\n"
        with repos.locked(task.reponame):
            before = repos.branch_heads(task.reponame)
            commits = repos.commit_files(task.reponame, task.branches, files, message, author)
        for branch, commit in commits.items():
            state = "unchanged" if before.get(branch) == commit else "updated"
            log.info("branch %s: %s (%s)", branch, commit, state)
        return ImportResult(task.reponame, commits, task.pkg_name, package.evr)


def download(url: str, destination: Path, max_size: int, timeout: float) -> Path:
    """Fetch ``url`` into the directory ``destination``, refusing more than ``max_size``."""
    name = url.rstrip("/").rsplit("/", 1)[-1] or "package.src.rpm"
    if name in (".", "..") or "/" in name:
        name = "package.src.rpm"
    target = destination / name
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise ImportFailure(
                    f"cannot download the SRPM from {url}: HTTP {response.status_code}"
                )
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_size:
                raise ImportFailure(
                    f"the SRPM is {declared} bytes, larger than the limit of {max_size} bytes"
                )
            received = 0
            with target.open("wb") as out:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    received += len(chunk)
                    if received > max_size:
                        raise ImportFailure(
                            f"the SRPM is larger than the limit of {max_size} bytes"
                        )
                    out.write(chunk)
    except requests.RequestException as error:
        raise ImportFailure(f"cannot download the SRPM from {url}: {error}") from None
    return target


@contextmanager
def per_task_log(settings: DistGitSettings, build_id: int) -> Iterator[Path]:
    """Copy dist-git's log lines into ``<per-task-log dir>/<build_id>.log`` meanwhile."""
    path = settings.per_task_log_root / f"{build_id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("copr_distgit")
    logger.addHandler(handler)
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


def run_import(settings: DistGitSettings, task: ImportTask) -> dict[str, Any]:
    """Download and import ``task``'s SRPM; the ``import-completed/`` payload, never raises
    for a bad SRPM or an unreachable URL (those are the build's failure, not ours).
    """
    with per_task_log(settings, task.build_id):
        log.info(
            "importing build %s: %s into %s %s",
            task.build_id,
            task.srpm_url,
            task.reponame,
            list(task.branches),
        )
        settings.work_root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(dir=settings.work_root, prefix=f"build-{task.build_id}-"))
        try:
            srpm = download(
                task.srpm_url, workdir, settings.max_srpm_size, settings.download_timeout
            )
            result = import_srpm(settings, task, srpm)
        except (ImportFailure, SrpmError) as error:
            log.error("import of build %s failed: %s", task.build_id, error)
            return failure_payload(task.build_id, str(error))
        except Exception as error:
            # Not the SRPM's fault; the build still has to learn that it failed, and the
            # traceback goes to the per-import log for the admin.
            log.exception("import of build %s failed unexpectedly", task.build_id)
            return failure_payload(task.build_id, f"dist-git internal error: {error}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        log.info("import of build %s done: %s", task.build_id, result.branch_commits)
        return {
            "build_id": task.build_id,
            "branch_commits": result.branch_commits,
            "reponame": result.reponame,
            "pkg_name": result.pkg_name,
            "pkg_version": result.pkg_version,
        }


def failure_payload(build_id: int, error: str) -> dict[str, Any]:
    return {"build_id": build_id, "branch_commits": {}, "error": error}
