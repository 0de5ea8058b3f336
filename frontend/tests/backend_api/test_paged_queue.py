"""The paged ``pending-jobs``: the first N pending tasks in the backend's fair order.

The backend numbers the tasks of the full feed per (owner, sandbox, arch) in feed order,
adds that rank to the task's base priority (background +1,000,000, RPM task +1) and
starts tasks by (priority, feed position).  ``reference`` does that to the full feed
here; the paged feed must list every starting/running task and exactly the first N
pending tasks of that order, each with the priority it computed.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.backend_api.queue import MAX_ASKED, MAX_PAGE
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.testing import Factory

CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64", "epel-9-aarch64")


def feed(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get("/backend/pending-jobs/" + query)
    assert response.status_code == 200, response.data
    jobs = response.get_json()
    assert isinstance(jobs, list)
    return jobs


def _arch(job: dict[str, Any]) -> str:
    if "-" not in job["task_id"] or not job["chroot"]:
        return "srpm"
    return str(job["chroot"]).rsplit("-", 1)[-1]


def reference(jobs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """The full feed as the backend orders it: (priority, job) by (priority, position)."""
    seen: Counter[tuple[str, str, str]] = Counter()
    ranked = []
    for position, job in enumerate(jobs):
        key = (job["project_owner"], job["sandbox"], _arch(job))
        seen[key] += 1
        base = (1_000_000 if job["background"] else 0) + (1 if "-" in job["task_id"] else 0)
        ranked.append((base + seen[key], position, job))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [(priority, job) for priority, _, job in ranked]


def states(factory: Factory) -> dict[str, StatusEnum]:
    """Task id -> state of every task in the database."""
    session = factory.session
    session.expire_all()
    found = {}
    for build in session.query(Build):
        found[str(build.id)] = build.source_status
    for chroot in session.query(BuildChroot):
        found[chroot.task_id] = chroot.status
    return found


def random_queue(factory: Factory, seed: int) -> None:
    """Owners with a few projects, dirs and submitters; builds pending, running,
    importing, background, custom-source, canceled, and in blocked batches."""
    chance = random.Random(seed)
    submitters = [factory.user(f"sub{seed}-{n}") for n in range(3)]
    projects = []
    for number in range(4):
        owner = factory.user(f"own{seed}-{number}")
        for name in ("a", "b")[: chance.randint(1, 2)]:
            chroots = chance.sample(CHROOTS, chance.randint(1, 3))
            projects.append(factory.project(owner, f"p{name}", chroots=chroots))
    source_states = [StatusEnum.pending, StatusEnum.running, StatusEnum.starting,
                     StatusEnum.importing, StatusEnum.succeeded]  # fmt: skip
    chroot_states = [StatusEnum.pending, StatusEnum.pending, StatusEnum.running,
                     StatusEnum.starting, StatusEnum.succeeded]  # fmt: skip
    builds: list[Build] = []
    for _ in range(70):
        project = chance.choice(projects)
        source = chance.choice(source_states)
        options: dict[str, Any] = {
            "is_background": chance.random() < 0.3,
            "user": chance.choice([None, *submitters]),
            "source_status": source,
        }
        if source == StatusEnum.succeeded:
            options["chroot_status"] = chance.choice(chroot_states)
        if chance.random() < 0.2:
            options["dirname"] = f"{project.name}:custom:side"
        if chance.random() < 0.15:
            options["source_type"] = BuildSourceEnum.custom
            options["source_json"] = {"script": "#!/bin/sh\n", "chroot": "fedora-42-x86_64"}
        if builds and chance.random() < 0.1:
            options["after_build"] = chance.choice(builds)
        build = factory.build(project, **options)
        if chance.random() < 0.08:
            cancel_build(factory.session, build)
        builds.append(build)
    factory.session.commit()


def assert_pages_are_heads(client: FlaskClient, factory: Factory, limits: list[int]) -> None:
    """Each page of ``limits`` lists every started task and the first pending ones of
    the full feed's fair order, each with its priority and its full-feed JSON."""
    full = feed(client)
    order = reference(full)
    state = states(factory)
    pending = [(p, job) for p, job in order if state[job["task_id"]] == StatusEnum.pending]
    started = [(p, job) for p, job in order if state[job["task_id"]] != StatusEnum.pending]
    positions = {job["task_id"]: index for index, job in enumerate(full)}
    by_id = {job["task_id"]: job for job in full}
    for limit in [*limits, len(pending) - 1, len(pending), len(pending) + 10]:
        page = feed(client, f"?limit={limit}")
        # In feed order, as the full feed lists them, so the backend's stable sort agrees.
        assert [positions[job["task_id"]] for job in page] == sorted(
            positions[job["task_id"]] for job in page
        )
        priorities = {job["task_id"]: job.pop("priority") for job in page}
        wanted = started + pending[:limit]
        assert sorted(priorities.items()) == sorted(
            (job["task_id"], priority) for priority, job in wanted
        ), limit
        assert all(job == by_id[job["task_id"]] for job in page)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_page_is_the_head_of_the_fair_order(client, factory, seed: int) -> None:  # type: ignore[no-untyped-def]
    random_queue(factory, seed)
    state = states(factory)
    assert sum(s == StatusEnum.pending for s in state.values()) > 20
    assert any(s in (StatusEnum.starting, StatusEnum.running) for s in state.values())
    assert_pages_are_heads(client, factory, [1, 2, 5, 13])


def test_a_newcomer_comes_first_behind_a_long_queue(client, factory) -> None:  # type: ignore[no-untyped-def]
    # One owner's flood, deeper than a page reads of each group at first, a build of hers
    # running far down it, and then bob's one build and a background flood of carol's.
    alice = factory.project(factory.user("alice"), "flood", chroots=["fedora-42-x86_64"])
    flood = [factory.build(alice) for _ in range(40)]
    flood[25].source_status = StatusEnum.running
    carol = factory.project(factory.user("carol"), "later", chroots=["fedora-42-x86_64"])
    for _ in range(10):
        factory.build(carol, is_background=True, source_status=StatusEnum.succeeded,
                      chroot_status=StatusEnum.pending)  # fmt: skip
    bob = factory.project(factory.user("bob"), "one", chroots=["fedora-42-x86_64"])
    newcomer = factory.build(bob)
    factory.session.commit()
    page = feed(client, "?limit=2")
    assert {job["task_id"]: job["priority"] for job in page} == {
        str(flood[0].id): 1,
        str(newcomer.id): 1,
        str(flood[25].id): 26,
    }
    assert_pages_are_heads(client, factory, [1, 3, 20, 38, 45])


def test_running_tasks_are_always_listed(client, factory) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user("bob"), "q", chroots=["fedora-42-x86_64"])
    running = factory.build(project, source_status=StatusEnum.running)
    starting = factory.build(project, source_status=StatusEnum.succeeded,
                             chroot_status=StatusEnum.starting)  # fmt: skip
    first = factory.build(project)
    factory.build(project)
    factory.session.commit()
    page = feed(client, "?limit=1")
    assert [job["task_id"] for job in page] == [
        str(running.id),
        str(first.id),
        f"{starting.id}-fedora-42-x86_64",
    ]
    # The running source build takes rank 1 of bob's source tasks, the first pending 2.
    assert [job["priority"] for job in page] == [1, 2, 2]


def test_without_limit_no_priorities(client, factory) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user("bob"), "q", chroots=["fedora-42-x86_64"])
    factory.build(project)
    factory.session.commit()
    assert [sorted(job) for job in feed(client)] == [
        ["background", "build_id", "chroot", "project_owner", "sandbox", "task_id"]
    ]


def test_an_empty_queue_pages_to_nothing(client) -> None:  # type: ignore[no-untyped-def]
    assert feed(client, "?limit=5") == []


@pytest.mark.parametrize(
    "limit", ["0", "-1", "x", "1.5", "", " 3", "\u0661", str(MAX_PAGE + 1), "9" * 40]
)
def test_a_bad_limit_is_400(client, factory, limit: str) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user("bob"), "q", chroots=["fedora-42-x86_64"])
    factory.build(project)
    factory.session.commit()
    response = client.get("/backend/pending-jobs/", query_string={"limit": limit})
    assert response.status_code == 400, response.data
    assert "limit must be" in response.get_json()["error"]


def test_queued_tasks_names_those_still_in_the_queue(client, factory) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user("eve"), "q", chroots=["fedora-42-x86_64"])
    source = factory.build(project)
    rpm = factory.build(project, source_status=StatusEnum.succeeded,
                        chroot_status=StatusEnum.running)  # fmt: skip
    done = factory.build(project, source_status=StatusEnum.succeeded,
                         chroot_status=StatusEnum.succeeded)  # fmt: skip
    canceled = factory.build(project)
    cancel_build(factory.session, canceled)
    blocked = factory.build(project, after_build=source)
    factory.session.commit()
    asked = [str(source.id), f"{rpm.id}-fedora-42-x86_64", f"{done.id}-fedora-42-x86_64",
             str(done.id), str(canceled.id), str(blocked.id), "999999",
             f"{rpm.id}-epel-9-x86_64"]  # fmt: skip
    response = client.get("/backend/queued-tasks/", query_string={"task_id": asked})
    assert response.status_code == 200, response.data
    assert response.get_json() == sorted([str(source.id), f"{rpm.id}-fedora-42-x86_64"])
    assert client.get("/backend/queued-tasks/").get_json() == []


@pytest.mark.parametrize(
    "task_id", ["abc", "0", "-3", "12-", "12 -x", "\u0661\u0662", "12-fedora/../x", "1" * 30]
)
def test_queued_tasks_refuses_a_bad_task_id(client, task_id: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/backend/queued-tasks/", query_string={"task_id": ["1", task_id]})
    assert response.status_code == 400, response.data
    assert "task_id must be" in response.get_json()["error"]


def test_queued_tasks_refuses_too_many(client) -> None:  # type: ignore[no-untyped-def]
    asked = [str(n) for n in range(1, MAX_ASKED + 2)]
    response = client.get("/backend/queued-tasks/", query_string={"task_id": asked})
    assert response.status_code == 400, response.data
    assert f"at most {MAX_ASKED}" in response.get_json()["error"]
