"""The build dispatcher reads a page of the queue, larger while the limits refuse it all."""

from __future__ import annotations

from copr_backend.builds.dispatcher import BuildTaskSource, BuildWorkerManager
from copr_backend.frontend import frontend_client
from copr_backend.testing.helpers import wait_for
from copr_common.enums import StatusEnum
from copr_frontend.builds.transitions import cancel_build


def test_the_page_grows_while_nothing_may_start(factory, db_session, make_backend):
    # Two slots, 2 * 1 + 1 = 3 pending tasks a page; alice is blocked and her ten
    # builds come first (bob's are background): pages of 3, then 6, then 12, which
    # reaches bob's.
    backend = make_backend(
        local_slots=2,
        blocked_owners=["alice"],
        queue_page_factor=1,
        queue_page_floor=1,
        queue_page_max=20,
    )
    alice = factory.project(factory.user("alice"), name="flood")
    bob = factory.project(factory.user("bob"), name="later")
    for _ in range(10):
        factory.build(alice)
    bobs = [factory.build(bob, is_background=True) for _ in range(5)]
    db_session.commit()
    manager = BuildWorkerManager(backend.redis, backend.settings, config_file=backend.config)
    with frontend_client(backend.settings) as client:
        source = BuildTaskSource(client, manager)
        for size in (3, 6):
            tasks = source.get_tasks()
            assert len(tasks) == size
            assert manager.dispatch(tasks) == []
            assert manager.starved
        tasks = source.get_tasks()
        # The frontend's priorities: alice's builds 1..10, bob's after all of them.
        assert [t.priority for t in tasks] == [*range(1, 11), 1_000_001, 1_000_002]
        assert [t.id for t in tasks[10:]] == [str(b.id) for b in bobs[:2]]
        # Finished meanwhile: their workers start, find them done and end at once.
        for build in bobs[:2]:
            build.source_status = StatusEnum.succeeded
        db_session.commit()
        assert manager.dispatch(tasks) == [str(b.id) for b in bobs[:2]]
        assert not manager.starved
        source.get_tasks()
        assert source._growth == 1

        def ended() -> bool:
            manager.reap()
            return not manager.workers()

        wait_for(ended, 30, "the workers to end")


def test_the_page_grows_up_to_the_ceiling(factory, db_session, make_backend):
    backend = make_backend(
        local_slots=2,
        blocked_owners=["alice"],
        queue_page_factor=1,
        queue_page_floor=1,
        queue_page_max=8,
    )
    alice = factory.project(factory.user("alice"), name="flood")
    for _ in range(10):
        factory.build(alice)
    db_session.commit()
    manager = BuildWorkerManager(backend.redis, backend.settings, config_file=backend.config)
    with frontend_client(backend.settings) as client:
        source = BuildTaskSource(client, manager)
        seen = []
        for _ in range(4):
            tasks = source.get_tasks()
            seen.append(len(tasks))
            assert manager.dispatch(tasks) == []
        assert seen == [3, 6, 8, 8]


def test_a_cut_page_forgets_nothing_beyond_it(factory, db_session, make_backend):
    """What is kept about a pending task (missed leases) stays while the page does not
    reach it, and goes when the task has left the whole queue."""
    backend = make_backend(local_slots=1, queue_page_factor=1, queue_page_floor=1)
    project = factory.project(factory.user("carol"), name="q")
    builds = [factory.build(project) for _ in range(4)]
    db_session.commit()
    manager = BuildWorkerManager(backend.redis, backend.settings, config_file=backend.config)
    last = str(builds[-1].id)
    manager._missed_leases[last] = (1, 0.0)
    with frontend_client(backend.settings) as client:
        source = BuildTaskSource(client, manager)
        assert [t.id for t in source.get_tasks()] == [str(builds[0].id), str(builds[1].id)]
        assert last in manager._missed_leases
        # Canceled: it leaves the queue; a page that lists the whole queue drops it.
        for build in builds[1:]:
            cancel_build(db_session, build)
        db_session.commit()
        assert [t.id for t in source.get_tasks()] == [str(builds[0].id)]
        assert last not in manager._missed_leases


def test_a_cut_page_forgets_what_left_the_queue(factory, db_session, make_backend):
    """While the page is cut, the frontend is asked about the unlisted tasks something
    is kept for: an ended one is forgotten, a queued one beyond the page is not."""
    backend = make_backend(local_slots=1, queue_page_factor=1, queue_page_floor=1)
    project = factory.project(factory.user("dave"), name="q")
    builds = [factory.build(project) for _ in range(4)]
    ended = factory.build(project)
    cancel_build(db_session, ended)
    db_session.commit()
    manager = BuildWorkerManager(backend.redis, backend.settings, config_file=backend.config)
    beyond = str(builds[-1].id)
    for task_id in (beyond, str(ended.id)):
        manager._missed_leases[task_id] = (1, 0.0)
    with frontend_client(backend.settings) as client:
        source = BuildTaskSource(client, manager)
        assert [t.id for t in source.get_tasks()] == [str(builds[0].id), str(builds[1].id)]
        assert sorted(manager.missed_leases()) == [beyond]
