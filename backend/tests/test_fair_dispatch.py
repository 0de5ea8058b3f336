"""30 real builds from 3 owners: the start order interleaves owners, the owner limit holds."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from copr_backend.builds.dispatcher import create_build_dispatcher
from copr_common.enums import BuildSourceEnum, StatusEnum


@pytest.mark.slow
def test_thirty_builds_of_three_owners(factory, db_session, make_backend, make_srpm):
    # Signing is tested elsewhere; here it would only make each build slower.
    backend = make_backend(local_slots=4, max_builds_per_owner=2, sign_rpms=False)
    url = make_srpm("tiny")
    counts = {"alice": 15, "bob": 10, "carol": 5}
    builds = []
    # Submitted owner by owner: a first-come order would run alice's builds first.
    for owner, count in counts.items():
        project = factory.project(factory.user(owner), name="fair")
        builds += [
            factory.build(project, source_type=BuildSourceEnum.link, source_json={"url": url})
            for _ in range(count)
        ]
    owner_of = {b.task_id: b.project.ownername for b in builds}
    dispatcher = create_build_dispatcher(backend.settings, config_file=backend.config)
    started: list[str] = []
    most_at_once: Counter[str] = Counter()
    deadline = time.monotonic() + 120
    while len(started) < len(builds) or dispatcher.manager.workers():
        assert time.monotonic() < deadline, f"only {len(started)} started: {backend.worker_logs()}"
        report = dispatcher.run_once()
        started += report.started
        running = Counter(owner_of[r.worker_id] for r in dispatcher.manager.workers())
        for owner, number in running.items():
            most_at_once[owner] = max(most_at_once[owner], number)
        time.sleep(0.2)

    assert sorted(started) == sorted(owner_of), "every task started exactly once"
    order = [owner_of[task_id] for task_id in started]
    assert set(order[:3]) == set(counts), order
    # While all three have work queued, nobody is starved: submitted last, carol's five
    # builds do not wait for alice's fifteen and bob's ten.
    for owner in counts:
        assert order[:15].count(owner) >= 3, order
    assert order.index("carol") < 3
    # Her last starts before the others' 25 have all started. (How much before depends on
    # how many slots free in one round: ties of rank go by queue order, where she is
    # last; with workers that start and end quickly, under load, up to index 20.)
    last_carol = max(i for i, owner in enumerate(order) if owner == "carol")
    assert last_carol < counts["alice"] + counts["bob"] - 1, order
    assert max(most_at_once.values()) == 2, most_at_once
    db_session.expire_all()
    assert all(b.source_status == StatusEnum.importing for b in builds), backend.worker_logs()
