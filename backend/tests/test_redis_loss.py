"""Redis lost while builds run: every build still ends as it would have, built and reported once.

Redis is killed and started again empty, or flushed, while real builds run in the local
pool; the dispatcher and workers are the real ones.  What must hold: no second build of
a task, no task reported failed because its builder was busy with itself, and no busy
builder handed to another task.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from copr_backend.pools import BuildRequest, PoolError
from copr_backend.pools.local import LocalPool
from copr_backend.testing.helpers import running_build_dispatcher, slow_source, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.testing.services import RedisServer, ServiceRun, start_redis
from copr_common.worker_manager import process_start_time

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture
def own_redis(service_run: ServiceRun) -> Iterator[RedisServer]:
    """A redis-server for this test alone, which it kills and starts again."""
    server = start_redis(service_run, name=f"redis-loss-{uuid.uuid4().hex[:8]}")
    yield server
    service_run.stop(server.process)


def worker_log(backend, task_id: str) -> str:  # type: ignore[no-untyped-def]
    path = backend.settings.worker_log_dir / f"backend-build-worker-{task_id}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def live_log(backend, project, build) -> Path:  # type: ignore[no-untyped-def]
    return (
        backend.settings.results_dir
        / project.ownername
        / project.name
        / "srpm-builds"
        / f"{build.id:08d}"
        / "builder-live.log"
    )


def sleeping(path: Path) -> bool:
    return path.exists() and "started-sleeping" in path.read_text(errors="replace")


def task_holder(backend, task_id: str) -> int | None:  # type: ignore[no-untyped-def]
    """The pid of the live worker holding ``task_id``'s lock."""
    lock = backend.settings.worker_lock_dir / "backend-build" / f"{task_id}.lock"
    fields = lock.read_text().split() if lock.exists() else []
    if len(fields) == 2 and process_start_time(int(fields[0])) == int(fields[1]):
        return int(fields[0])
    return None


def assert_built_and_reported_once(backend, project, build) -> None:  # type: ignore[no-untyped-def]
    log = worker_log(backend, build.task_id)
    assert build.source_status == StatusEnum.importing, log
    assert log.count("starting on local-") == 1, log
    assert log.count(f"task {build.task_id} ended") == 1, log
    assert f"task {build.task_id} ended succeeded" in log, log
    assert "another copr-rpmbuild is running" not in log, log
    result_dir = live_log(backend, project, build).parent
    assert len(list(result_dir.glob("*.src.rpm"))) == 1


def test_redis_restarted_empty_while_builds_run(
    factory, db_session, make_backend, own_redis: RedisServer
):
    backend = make_backend(redis_url=own_redis.url(), local_slots=2)
    project = factory.project(name="restart-redis")
    builds = [
        factory.build(
            project, source_type=BuildSourceEnum.custom, source_json=slow_source(f"r{i}", 5)
        )
        for i in range(2)
    ]
    with running_build_dispatcher(backend):
        for build in builds:
            wait_for(lambda b=build: sleeping(live_log(backend, project, b)), 60, "both builds")
        own_redis.kill()
        own_redis.restart()

        def finished():
            db_session.expire_all()
            return all(b.source_status not in (StatusEnum.starting, StatusEnum.running)
                       for b in builds)  # fmt: skip

        wait_for(finished, 90, "the builds to end", interval=0.3)
    for build in builds:
        assert_built_and_reported_once(backend, project, build)


def test_a_second_worker_for_a_running_build_leaves_it_alone(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(name="second-worker")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("twice", 5)
    )
    with running_build_dispatcher(backend):
        wait_for(lambda: sleeping(live_log(backend, project, build)), 60, "the build to run")
        first = task_holder(backend, build.task_id)
        assert first is not None
        # Redis loses everything, and a dispatcher that did not notice starts a second
        # worker for the task (the record it would have written, then the worker).
        backend.redis.flushdb()
        key = f"copr:backend-build:worker:{build.task_id}"
        backend.redis.hset(key, mapping={"state": "starting", "task": "{}"})
        backend.redis.sadd("copr:backend-build:workers", build.task_id)
        second = subprocess.run(
            [str(BIN / "copr-backend-build-worker"), "--config", str(backend.config),
             "--worker-id", build.task_id],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 0, second.stderr
        assert f"already run by worker {first}" in second.stderr
        # The record now names the worker that really runs the build.
        assert backend.redis.hget(key, "pid") == str(first).encode()

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing

        wait_for(finished, 60, "the build to end", interval=0.3)
    assert_built_and_reported_once(backend, project, build)


def test_a_killed_worker_and_a_flushed_redis_the_next_worker_attaches(
    factory, db_session, make_backend
):
    backend = make_backend()
    project = factory.project(name="attach")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("attach", 5)
    )
    with running_build_dispatcher(backend):
        wait_for(lambda: sleeping(live_log(backend, project, build)), 60, "the build to run")
        worker = task_holder(backend, build.task_id)
        assert worker is not None
        os.killpg(worker, signal.SIGKILL)
        backend.redis.flushdb()

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing

        wait_for(finished, 60, "the build to end", interval=0.3)
    log = worker_log(backend, build.task_id)
    assert "re-attaching to its build" in log
    assert_built_and_reported_once(backend, project, build)


def test_a_busy_slot_is_never_given_to_another_task(factory, db_session, make_backend):
    backend = make_backend(local_slots=2)
    project = factory.project(name="busy")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("busy", 6)
    )
    with running_build_dispatcher(backend) as dispatcher:
        wait_for(lambda: sleeping(live_log(backend, project, build)), 60, "the build to run")
        backend.redis.flushdb()  # no trace of any lease is left in Redis
        running = LocalPool(backend.settings).find(build.task_id)
        assert running is not None

        pool = LocalPool(backend.settings)
        other = pool.lease(BuildRequest("900001", 900001, None), timeout=5)
        assert other.slot != running.slot
        # Both slots are busy now: nothing is handed out, however long one waits.
        with pytest.raises(PoolError, match="no free local builder slot"):
            pool.lease(BuildRequest("900002", 900002, None), timeout=2)
        pool.release(other)

        # The build's worker dies: its slot still runs the build and is kept for it.
        dispatcher.stop()
        worker = task_holder(backend, build.task_id)
        assert worker is not None
        os.killpg(worker, signal.SIGKILL)
        wait_for(lambda: process_start_time(worker) is None, 10, "the worker to die")
        queued = LocalPool(backend.settings, lambda task_id: task_id == build.task_id)
        taken = queued.lease(BuildRequest("900003", 900003, None), timeout=5)
        assert taken.slot != running.slot
        with pytest.raises(PoolError):
            queued.lease(BuildRequest("900004", 900004, None), timeout=2)
        queued.release(taken)
    with running_build_dispatcher(backend):

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing

        wait_for(finished, 60, "the build to end", interval=0.3)
    assert_built_and_reported_once(backend, project, build)


def test_redis_gone_for_good_the_running_build_still_succeeds(
    factory, db_session, make_backend, own_redis: RedisServer
):
    """Redis dies and stays down: the build that runs is reported; nothing needs Redis."""
    backend = make_backend(redis_url=own_redis.url())
    project = factory.project(name="no-redis")
    build = factory.build(
        project, source_type=BuildSourceEnum.custom, source_json=slow_source("alone", 3)
    )
    with running_build_dispatcher(backend):
        wait_for(lambda: sleeping(live_log(backend, project, build)), 60, "the build to run")
        own_redis.kill()

        def finished():
            db_session.expire_all()
            return build.source_status == StatusEnum.importing

        wait_for(finished, 60, "the build to end without Redis", interval=0.3)
        own_redis.restart()
    assert_built_and_reported_once(backend, project, build)
    assert Redis.from_url(own_redis.url()).ping()


@pytest.mark.parametrize("command", ["build-dispatcher", "action-dispatcher"])
def test_dispatchers_ride_out_redis_and_frontend_outages(
    make_backend, own_redis: RedisServer, command: str
):
    import time

    from copr_common.testing.services import free_port

    # A frontend that is not there at all, and a Redis that goes away for a while.
    backend = make_backend(
        redis_url=own_redis.url(), frontend_url=f"http://127.0.0.1:{free_port()}", sleep_time=0.5
    )
    process = backend.spawn(command)
    time.sleep(3)
    own_redis.kill()
    time.sleep(4)
    assert process.poll() is None, backend.log_of(command)
    own_redis.restart()
    time.sleep(4)
    assert process.poll() is None, backend.log_of(command)
    log = backend.log_of(command)
    # One line when each outage started, one when Redis was back; not one per round.
    assert log.count("the task source is unavailable") == 1, log
    assert log.count("redis is unavailable") == 1, log
    assert log.count("redis is back after") == 1, log
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
