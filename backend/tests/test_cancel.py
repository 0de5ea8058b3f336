"""Canceling a running build: stopped within seconds, its process tree gone, state canceled."""

from __future__ import annotations

import time

from copr_backend.pools.local import LocalPool
from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.worker_manager import process_start_time
from copr_frontend.builds.transitions import cancel_build

SLOW_SCRIPT = "#!/bin/sh\necho started-sleeping\nsleep 300\n"


def test_running_build_is_canceled_within_seconds(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(name="slow")
    build = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": SLOW_SCRIPT, "chroot": "fedora-42-x86_64"},
    )
    pool = LocalPool(backend.settings)
    live_log = (
        backend.settings.results_dir
        / project.ownername
        / "slow"
        / "srpm-builds"
        / f"{build.id:08d}"
        / "builder-live.log"
    )
    with running_build_dispatcher(backend):

        def sleeping():
            return live_log.exists() and "started-sleeping" in live_log.read_text()

        wait_for(sleeping, 60, "the script to run (live log streamed into the result dir)")
        builder = pool.find(build.task_id)
        assert builder is not None
        pids = builder.build_pids()
        assert len(pids) > 1
        starts = {pid: process_start_time(pid) for pid in pids}

        db_session.expire_all()
        asked = time.monotonic()
        assert cancel_build(db_session, build)
        db_session.commit()

        def gone():
            return all(process_start_time(pid) != start for pid, start in starts.items())

        wait_for(gone, 10, "the build's process tree to be gone")

        def reported():
            db_session.expire_all()
            return build.source_status == StatusEnum.canceled and not backend.redis.smembers(
                "copr:backend-build:workers"
            )

        wait_for(reported, 10, "the worker to finish")
        assert time.monotonic() - asked < 10
    assert build.state == StatusEnum.canceled
    result_dir = live_log.parent
    assert (result_dir / "builder-live.log.gz").exists()
    from copr_frontend.builds.models import CancelRequest

    assert db_session.query(CancelRequest).count() == 0


def test_build_past_its_timeout_fails_with_the_reason(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(name="late")
    build = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": SLOW_SCRIPT, "chroot": "fedora-42-x86_64"},
        timeout=3,
    )

    def ended():
        db_session.expire_all()
        return build.source_status == StatusEnum.failed and not backend.redis.smembers(
            "copr:backend-build:workers"
        )

    with running_build_dispatcher(backend):
        wait_for(ended, 60, "the build to time out")
    log = (
        backend.settings.worker_log_dir / f"backend-build-worker-{build.task_id}.log"
    ).read_text()
    assert "ran longer than its timeout of 3 s" in log


def test_cancel_request_nobody_runs_is_answered(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(name="orphan")
    build = factory.build(project, source_status=StatusEnum.running)
    assert cancel_build(db_session, build)
    db_session.commit()
    from copr_frontend.builds.models import CancelRequest

    assert db_session.query(CancelRequest).count() == 1
    with running_build_dispatcher(backend):

        def answered():
            db_session.expire_all()
            return db_session.query(CancelRequest).count() == 0

        wait_for(answered, 10, "the dispatcher to answer the cancel request")
    assert build.state == StatusEnum.canceled
    assert not (backend.settings.results_dir / project.ownername).exists()
