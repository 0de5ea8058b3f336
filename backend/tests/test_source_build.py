"""A source build through the real dispatcher, worker, local pool, copr-rpmbuild and keygen."""

from __future__ import annotations

import gzip
import json

from copr_backend.testing.helpers import rpm_verify, running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum


def test_source_build_is_signed_and_reported(
    factory, db_session, make_backend, make_srpm, tmp_path
):
    backend = make_backend()
    project = factory.project(name="hello")
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello")}
    )

    def source_done():
        db_session.expire_all()
        return build.source_status in (StatusEnum.importing, StatusEnum.failed)

    with running_build_dispatcher(backend):
        wait_for(source_done, 60, "the source build")
    assert build.source_status == StatusEnum.importing, backend.worker_logs()
    owner = project.ownername
    result_dir = backend.settings.results_dir / owner / "hello" / "srpm-builds" / f"{build.id:08d}"
    (srpm,) = result_dir.glob("*.src.rpm")
    assert build.srpm_url.endswith(f"/results/{owner}/hello/srpm-builds/{build.id:08d}/{srpm.name}")
    assert build.package_name == "hello"
    assert (result_dir / "builder-live.log.gz").exists()
    assert b"Build succeeded" in gzip.decompress((result_dir / "builder-live.log.gz").read_bytes())
    assert (result_dir / "backend.log.gz").exists()
    assert json.loads((result_dir / "results.json").read_text())["name"] == "hello"
    pubkey = backend.settings.results_dir / owner / "hello" / "pubkey.gpg"
    assert "BEGIN PGP PUBLIC KEY BLOCK" in pubkey.read_text()
    assert "digests signatures OK" in rpm_verify(srpm, pubkey, tmp_path / "rpmdb")


def test_rpm_task_without_a_package_fails_clearly_and_stores_nothing(
    factory, db_session, make_backend
):
    backend = make_backend()
    project = factory.project(name="nameless")
    build = factory.build(
        project, source_status=StatusEnum.succeeded, chroot_status=StatusEnum.pending
    )
    (chroot,) = build.chroots

    def failed():
        db_session.expire_all()
        return chroot.status == StatusEnum.failed and not backend.redis.smembers(
            "copr:backend-build:workers"
        )

    with running_build_dispatcher(backend):
        wait_for(failed, 30, "the task to fail")
    log = (
        backend.settings.worker_log_dir / f"backend-build-worker-{chroot.task_id}.log"
    ).read_text()
    assert "bad task: the RPM task has no package_name" in log
    assert not backend.settings.results_dir.joinpath(project.ownername).exists()
    assert not list(backend.settings.local_pool_dir.iterdir())
