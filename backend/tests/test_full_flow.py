"""An SRPM all the way: source build, dist-git import, RPM build, signing, repodata, dnf."""

from __future__ import annotations

import gzip

import pytest
import requests

from copr_backend.testing.helpers import dnf, rpm_verify, running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum

CHROOT = "fedora-42-x86_64"


@pytest.mark.slow
def test_srpm_is_built_signed_published_and_installable(
    factory, db_session, make_backend, make_srpm, distgit, tmp_path
):
    backend = make_backend()
    project = factory.project(name="hello", chroots=[CHROOT])
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello", "2.5")}
    )

    def finished():
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed, StatusEnum.canceled)

    with running_build_dispatcher(backend):
        wait_for(finished, 120, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    (chroot,) = build.chroots
    assert chroot.status == StatusEnum.succeeded
    assert chroot.result_dir == f"{build.id:08d}-hello"

    project_dir = backend.settings.results_dir / project.ownername / "hello"
    chroot_dir = project_dir / CHROOT
    build_dir = chroot_dir / f"{build.id:08d}-hello"
    rpms = sorted(build_dir.glob("*.rpm"))
    assert [p.name for p in rpms] == ["hello-2.5-1.noarch.rpm", "hello-2.5-1.src.rpm"]
    pubkey = project_dir / "pubkey.gpg"
    for package in rpms:
        assert "digests signatures OK" in rpm_verify(package, pubkey, tmp_path / "rpmdb")
    assert (build_dir / "builder-live.log.gz").exists()
    assert (chroot_dir / "repodata" / "repomd.xml").exists()
    # The sizes the quotas count: every byte of the result dirs, logs and RPMs included.
    assert chroot.result_size == sum(p.stat().st_size for p in build_dir.rglob("*") if p.is_file())
    assert chroot.result_size > sum(p.stat().st_size for p in rpms)
    source_dir = project_dir / "srpm-builds" / f"{build.id:08d}"
    assert build.source_result_size == sum(
        p.stat().st_size for p in source_dir.rglob("*") if p.is_file()
    )

    repo_url = f"{backend.settings.results_url}/{project.ownername}/hello/{CHROOT}/"
    installed = dnf(tmp_path, repo_url, pubkey, "install", "hello")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    readme = tmp_path / "installroot" / "usr" / "share" / "hello" / "README"
    assert readme.read_text() == "hello 2.5\n"


def test_a_bad_srpm_fails_the_import_and_its_reason_reaches_the_build(
    factory, db_session, www, distgit
):
    """dist-git refuses a file that is no RPM; the real frontend keeps the reason it gives."""
    (www.root / "junk.src.rpm").write_bytes(b"this is not an RPM\n" * 64)
    project = factory.project(name="junk", chroots=[CHROOT])
    build = factory.build(project, source_status=StatusEnum.importing)
    build.pkg_name = "junk"
    build.srpm_url = f"{www.url}/junk.src.rpm"
    db_session.commit()

    def failed():
        db_session.expire_all()
        return build.state == StatusEnum.failed

    wait_for(failed, 60, "dist-git to report the failed import", interval=0.3)
    assert build.fail_reason == "the file is not an RPM package (no RPM lead)"
    assert build.source_status == StatusEnum.failed


def test_failed_builds_say_why(factory, db_session, make_backend, make_srpm, distgit):
    """copr-rpmbuild's fail-reason.txt becomes the fail_reason the real frontend keeps."""
    backend = make_backend()
    project = factory.project(name="fails", chroots=[CHROOT])
    broken = make_srpm(
        "broken", "1.0", build="echo 'make: *** No rule to make target all.'\nexit 2"
    )
    rpm_build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": broken}
    )
    script = "#!/bin/sh\necho 'curl: (6) Could not resolve host: example.invalid'\nexit 6\n"
    source_build = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": script, "chroot": CHROOT},
    )

    def finished():
        db_session.expire_all()
        return all(b.state == StatusEnum.failed for b in (rpm_build, source_build))

    with running_build_dispatcher(backend):
        wait_for(finished, 180, "both builds to fail", interval=0.3)
    (chroot,) = rpm_build.chroots
    assert chroot.fail_reason == (
        "RPM build failed: %build failed: make: *** No rule to make target all."
    )
    assert source_build.fail_reason == (
        "SRPM build failed: the custom script failed (exit status 6): curl: (6) Could not "
        "resolve host: example.invalid"
    )
    assert [c.fail_reason for c in source_build.chroots] == [None]


def test_host_buildroot_is_shown_and_can_be_refused(
    factory, db_session, make_backend, make_srpm, distgit, frontend
):
    """A spec with BuildRequires builds on the host (which installs none of them) and says
    so in API v3; in a project that requires a real buildroot the same build fails."""
    backend = make_backend()
    url = make_srpm("needy", "1.0", tags="BuildRequires:  gcc make\n")
    lenient = factory.project(name="lenient", chroots=[CHROOT])
    strict = factory.project(name="strict", chroots=[CHROOT], require_real_buildroot=True)
    builds = [
        factory.build(project, source_type=BuildSourceEnum.link, source_json={"url": url})
        for project in (lenient, strict)
    ]

    def finished():
        db_session.expire_all()
        return all(b.state in (StatusEnum.succeeded, StatusEnum.failed) for b in builds)

    with running_build_dispatcher(backend):
        wait_for(finished, 180, "both builds to end", interval=0.3)
    shown = [
        requests.get(f"{frontend.url}/api_3/build-chroot/{b.id}/{CHROOT}", timeout=30).json()
        for b in builds
    ]
    assert shown[0]["state"] == "succeeded", backend.worker_logs()
    assert (shown[0]["buildroot"], shown[0]["buildrequires_not_installed"]) == (
        "host",
        ["gcc", "make"],
    )
    assert shown[1]["state"] == "failed"
    assert shown[1]["buildroot"] == "host"
    assert shown[1]["fail_reason"] == (
        "RPM build failed: the project requires a real buildroot (a mock chroot), but this "
        "builder has only the host system, which does not install BuildRequires: gcc, make"
    )
    build_dir = (
        backend.settings.results_dir / lenient.ownername / "lenient" / CHROOT
        / f"{builds[0].id:08d}-needy"
    )  # fmt: skip
    first_lines = gzip.decompress((build_dir / "builder-live.log.gz").read_bytes()).decode()
    assert "Buildroot: the host system" in "\n".join(first_lines.splitlines()[:6])
