"""Restart safety: workers outlive a killed dispatcher; a killed worker's task runs again."""

from __future__ import annotations

import os
import signal

import pytest

from copr_backend.testing.helpers import running_build_dispatcher, slow_source, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum

WORKERS = "copr:backend-build:workers"


def _worker_records(backend):
    records = {}
    for raw in backend.redis.smembers(WORKERS):
        worker_id = raw.decode()
        data = backend.redis.hgetall(f"copr:backend-build:worker:{worker_id}")
        records[worker_id] = {k.decode(): v.decode() for k, v in data.items()}
    return records


def _worker_log(backend, task_id: str) -> str:
    path = backend.settings.worker_log_dir / f"backend-build-worker-{task_id}.log"
    return path.read_text(errors="replace")


@pytest.mark.slow
def test_dispatcher_killed_while_four_builds_run(factory, db_session, make_backend):
    backend = make_backend(local_slots=4)
    project = factory.project(name="restart")
    builds = [
        factory.build(
            project, source_type=BuildSourceEnum.custom, source_json=slow_source(f"pkg{i}", 4)
        )
        for i in range(4)
    ]
    first = backend.spawn("build-dispatcher")

    def four_running():
        records = _worker_records(backend)
        return len(records) == 4 and all(r.get("state") == "running" for r in records.values())

    wait_for(four_running, 30, "four running workers")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    backend.spawn("build-dispatcher")

    def all_done():
        db_session.expire_all()
        return all(b.source_status != StatusEnum.running for b in builds) and not _worker_records(
            backend
        )

    wait_for(all_done, 60, "the four builds to finish", interval=0.3)
    srpm_builds = backend.settings.results_dir / project.ownername / "restart" / "srpm-builds"
    assert sorted(p.name for p in srpm_builds.iterdir()) == [f"{b.id:08d}" for b in builds]
    dispatcher_log = backend.log_of("build-dispatcher")
    for build in builds:
        assert build.source_status == StatusEnum.importing, backend.worker_logs()
        log = _worker_log(backend, build.task_id)
        # One worker, one build on a builder, one final report.
        assert log.count("starting on local-") == 1, log
        assert log.count(f"task {build.task_id} ended succeeded") == 1, log
        assert dispatcher_log.count(f"started worker {build.task_id}:") == 1, dispatcher_log
        assert len(list((srpm_builds / f"{build.id:08d}").glob("*.src.rpm"))) == 1


@pytest.mark.slow
def test_killed_worker_task_is_dispatched_again(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(name="again")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("again", 4)
    )
    with running_build_dispatcher(backend):

        def running_worker():
            db_session.expire_all()
            record = _worker_records(backend).get(build.task_id)
            if record and record.get("pid") and build.source_status == StatusEnum.running:
                return int(record["pid"])
            return None

        pid = wait_for(running_worker, 30, "the worker to run the build")
        os.kill(pid, signal.SIGKILL)

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing and not _worker_records(backend)

        wait_for(finished, 60, "the build to finish after the worker was killed")
    log = _worker_log(backend, build.task_id)
    assert log.count("starting on local-") == 1, log
    assert "re-attaching to its build" in log
    assert log.count(f"task {build.task_id} ended succeeded") == 1, log
    result_dir = (
        backend.settings.results_dir
        / project.ownername
        / "again"
        / "srpm-builds"
        / f"{build.id:08d}"
    )
    assert len(list(result_dir.glob("*.src.rpm"))) == 1
    assert (result_dir / "builder-live.log.gz").exists()


def test_worker_of_a_finished_build_does_nothing(factory, db_session, make_backend):
    from copr_backend.builds.dispatcher import BuildWorkerManager
    from copr_backend.scheduling import BuildQueueTask

    backend = make_backend()
    project = factory.project(name="done")
    build = factory.build(
        project, source_status=StatusEnum.succeeded, chroot_status=StatusEnum.succeeded
    )
    manager = BuildWorkerManager(backend.redis, backend.settings, config_file=backend.config)
    task = BuildQueueTask.from_job(
        {"task_id": build.task_id, "build_id": build.id, "project_owner": project.ownername}
    )
    assert manager.dispatch([task]) == [build.task_id]

    def reaped():
        return manager.reap().finished

    (record,) = wait_for(reaped, 30, "the worker to end")
    assert record.result == {"task_id": build.task_id, "outcome": "not started"}
    db_session.expire_all()
    assert build.source_status == StatusEnum.succeeded
    assert not (backend.settings.results_dir / project.ownername).exists()
    assert not list(backend.settings.local_pool_dir.iterdir())
