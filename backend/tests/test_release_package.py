"""The release package: signed, in the repodata, and installing it enables the project
with gpgcheck; a change of the project's .repo file makes the next one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from copr_backend.testing.helpers import rpm_verify, running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.names import RELEASE_PACKAGES_DIR as RELEASE_DIR
from copr_common.names import release_package_name, release_package_path

CHROOT = "fedora-42-x86_64"


def _dnf(tmp_path: Path, reposdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Debian's dnf on one installroot, with the repos of ``reposdir`` only."""
    root = tmp_path / "installroot"
    for directory in (root, tmp_path / "dnf-cache", tmp_path / "dnf-log", tmp_path / "dnf-persist"):
        directory.mkdir(exist_ok=True)
    return subprocess.run(
        ["dnf", "-y", "--disableplugin=local", f"--installroot={root}", "--releasever=42",
         f"--setopt=reposdir={reposdir}", f"--setopt=cachedir={tmp_path / 'dnf-cache'}",
         f"--setopt=logdir={tmp_path / 'dnf-log'}",
         f"--setopt=persistdir={tmp_path / 'dnf-persist'}",
         "--setopt=install_weak_deps=False", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _primary(chroot_dir: Path) -> str:
    import gzip

    (primary,) = (chroot_dir / "repodata").glob("*-primary.xml.gz")
    return gzip.decompress(primary.read_bytes()).decode()


@pytest.mark.slow
def test_the_release_package_enables_the_project_with_gpgcheck(
    factory, db_session, make_backend, make_srpm, distgit, tmp_path
):
    backend = make_backend()
    project = factory.project(name="hello", chroots=[CHROOT])

    def build_and_wait(version: str):  # type: ignore[no-untyped-def]
        build = factory.build(
            project,
            source_type=BuildSourceEnum.link,
            source_json={"url": make_srpm("hello", version)},
        )

        def finished() -> bool:
            db_session.expire_all()
            return build.state in (StatusEnum.succeeded, StatusEnum.failed)

        with running_build_dispatcher(backend):
            wait_for(finished, 180, "the build to finish", interval=0.3)
        assert build.state == StatusEnum.succeeded, backend.worker_logs()

    build_and_wait("1.0")
    owner = project.ownername
    project_dir = backend.settings.results_dir / owner / "hello"
    chroot_dir = project_dir / CHROOT
    name = release_package_name(owner, "hello")
    (release,) = (chroot_dir / RELEASE_DIR).glob("*.rpm")
    assert release.name == f"{name}-1-1.noarch.rpm"
    pubkey = project_dir / "pubkey.gpg"
    assert "digests signatures OK" in rpm_verify(release, pubkey, tmp_path / "rpmdb")
    assert f"{RELEASE_DIR}/{release.name}" in _primary(chroot_dir)
    # Under a name that stays as well, where the project's overview links to it.
    stable = backend.settings.results_dir / release_package_path(owner, "hello", CHROOT)
    assert stable.read_bytes() == release.read_bytes()

    # Installing it (a local file, as a user who downloaded it would) enables the project:
    # its .repo file, with gpgcheck, then installs the project's package.
    empty = tmp_path / "no-repos"
    empty.mkdir()
    installed = _dnf(tmp_path, empty, "install", str(release))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    repos = tmp_path / "installroot" / "etc" / "yum.repos.d"
    (repo_file,) = repos.glob("*.repo")
    text = repo_file.read_text()
    assert "gpgcheck=1" in text
    assert (
        f"baseurl={backend.settings.results_url}/{owner}/hello/fedora-$releasever-$basearch/"
        in text
    )
    key = tmp_path / "installroot" / "etc" / "pki" / "rpm-gpg" / f"RPM-GPG-KEY-copr-{owner}-hello"
    assert key.read_bytes() == pubkey.read_bytes()
    hello = _dnf(tmp_path, repos, "install", "hello")
    assert hello.returncode == 0, hello.stdout + hello.stderr
    assert "hello-1.0-1.noarch" in hello.stdout

    # Another build with the same .repo file keeps the package; a changed one (a
    # priority) makes release 2, and the repodata lists it alone.
    build_and_wait("1.1")
    assert [p.name for p in (chroot_dir / RELEASE_DIR).glob("*.rpm")] == [release.name]
    project.repo_priority = 10
    db_session.commit()
    build_and_wait("1.2")
    (second,) = (chroot_dir / RELEASE_DIR).glob("*.rpm")
    assert second.name == f"{name}-1-2.noarch.rpm"
    assert stable.read_bytes() == second.read_bytes()
    primary = _primary(chroot_dir)
    assert f"{RELEASE_DIR}/{second.name}" in primary
    assert release.name not in primary
    upgraded = _dnf(tmp_path, repos, "--refresh", "upgrade", name)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert re.search(r"^priority=10$", repo_file.read_text(), re.MULTILINE)
