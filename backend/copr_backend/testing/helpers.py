"""Helpers shared by the backend tests: running dispatchers, waiting, checking packages."""

from __future__ import annotations

import gzip
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from copr_backend.actions.dispatcher import create_action_dispatcher
from copr_backend.builds.dispatcher import create_build_dispatcher
from copr_common.testing.polling import wait_for as wait_for  # the backend tests import it here


@contextmanager
def _running(dispatcher: Any) -> Iterator[Any]:
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        thread.join(timeout=30)


def running_build_dispatcher(backend: Any) -> AbstractContextManager[Any]:
    """The build dispatcher in a thread of the test (its workers are real processes)."""
    return _running(create_build_dispatcher(backend.settings, config_file=backend.config))


def running_action_dispatcher(backend: Any) -> AbstractContextManager[Any]:
    """The action dispatcher in a thread of the test (its workers are real processes)."""
    return _running(create_action_dispatcher(backend.settings, config_file=backend.config))


def rpm_verify(package: Path, pubkey: Path, dbpath: Path) -> str:
    """``rpm -K`` of ``package`` against a private rpmdb holding only ``pubkey``."""
    dbpath.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "--import", str(pubkey)], check=True, capture_output=True
    )
    result = subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "-K", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


SLOW_SPEC_SCRIPT = """#!/bin/sh
echo started-sleeping
sleep {seconds}
cat > {name}.spec <<'SPEC'
Name: {name}
Version: 1
Release: 1
Summary: made by a slow custom script
License: MIT
BuildArch: noarch
%description
slow
%files
SPEC
"""


def slow_source(name: str, seconds: float) -> dict[str, str]:
    """A custom source whose script sleeps, then leaves a spec: a build that takes a while."""
    return {
        "script": SLOW_SPEC_SCRIPT.format(name=name, seconds=seconds),
        "chroot": "fedora-42-x86_64",
    }


def listed(chroot_dir: Path) -> list[str]:
    """The package locations the repodata lists."""
    (primary,) = (chroot_dir / "repodata").glob("*primary.xml.gz")
    return sorted(
        re.findall(
            r'<location [^>]*?href="([^"]+)"', gzip.decompress(primary.read_bytes()).decode()
        )
    )


def dnf(
    tmp_path: Path, repo_url: str, pubkey: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Debian's dnf on a fresh installroot with ``repo_url`` as its one repository
    (gpgcheck on, ``pubkey`` its key): ``dnf(..., "install", "hello")``.
    """
    repos = tmp_path / "repos.d"
    repos.mkdir(exist_ok=True)
    (repos / "copr.repo").write_text(
        "[copr-test]\n"
        "name=copr test\n"
        f"baseurl={repo_url}\n"
        "enabled=1\n"
        "gpgcheck=1\n"
        f"gpgkey=file://{pubkey}\n"
    )
    root = tmp_path / "installroot"
    for directory in (root, tmp_path / "dnf-cache", tmp_path / "dnf-log", tmp_path / "dnf-persist"):
        directory.mkdir(exist_ok=True)
    return subprocess.run(
        [
            "dnf",
            "-y",
            "--disableplugin=local",
            f"--installroot={root}",
            "--releasever=42",
            f"--setopt=reposdir={repos}",
            f"--setopt=cachedir={tmp_path / 'dnf-cache'}",
            f"--setopt=logdir={tmp_path / 'dnf-log'}",
            f"--setopt=persistdir={tmp_path / 'dnf-persist'}",
            "--setopt=install_weak_deps=False",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
