"""Priorities and limits of the build queue (pure functions, no services)."""

from __future__ import annotations

from copr_backend.scheduling import BuildLimits, BuildQueueTask, assign_fair_counters
from copr_common.worker_manager import WorkerRecord


def job(task_id: str, owner: str, **extra: object) -> BuildQueueTask:
    data = {"task_id": task_id, "build_id": int(task_id.split("-")[0]), "project_owner": owner}
    data.update({"sandbox": f"{owner}--user", "background": False, "chroot": None})
    data.update(extra)
    return BuildQueueTask.from_job(data)


def running(*tasks: BuildQueueTask) -> list[WorkerRecord]:
    return [WorkerRecord(t.id, t.to_dict(), "running", 0.0, "host") for t in tasks]


def order(tasks: list[BuildQueueTask]) -> list[str]:
    ranked = sorted(enumerate(assign_fair_counters(tasks)), key=lambda p: (p[1].priority, p[0]))
    return [task.id for _, task in ranked]


def test_owners_interleave_whatever_the_submission_order():
    tasks = [job(str(i), "alice") for i in range(1, 4)] + [job(str(i), "bob") for i in (4, 5)]
    assert order(tasks) == ["1", "4", "2", "5", "3"]


def test_source_builds_before_rpm_builds_and_background_last():
    tasks = [
        job("1", "alice", background=True),
        job("2-fedora-42-x86_64", "bob", chroot="fedora-42-x86_64"),
        job("3", "carol"),
    ]
    assert order(tasks) == ["3", "2-fedora-42-x86_64", "1"]


def test_arches_and_sandboxes_count_separately():
    tasks = [
        job("1-fedora-42-x86_64", "alice", chroot="fedora-42-x86_64"),
        job("1-fedora-42-aarch64", "alice", chroot="fedora-42-aarch64"),
        job("2-fedora-42-x86_64", "alice", chroot="fedora-42-x86_64", sandbox="other"),
    ]
    assert [t.fair_counter for t in assign_fair_counters(tasks)] == [1, 1, 1]


def test_limits():
    a1 = job("1-fedora-42-x86_64", "alice", chroot="fedora-42-x86_64", tags=["big"])
    a2 = job("2-fedora-42-x86_64", "alice", chroot="fedora-42-x86_64", tags=["big"])
    b1 = job("3-fedora-42-aarch64", "bob", chroot="fedora-42-aarch64")
    assert BuildLimits(per_owner=1).refusal(a2, running(a1)) == "owner alice has 1 builds running"
    assert BuildLimits(per_owner=1).refusal(b1, running(a1)) is None
    assert BuildLimits(per_sandbox=1).refusal(a2, running(a1)).startswith("sandbox alice--user")
    assert BuildLimits(per_arch={"x86_64": 1}).refusal(a2, running(a1, b1)).startswith("arch")
    assert BuildLimits(per_arch={"x86_64": 1}).refusal(b1, running(a1)) is None
    assert (
        BuildLimits(per_tag={"big": 1}).refusal(a2, running(a1)) == "tag big has 1 builds running"
    )
    assert BuildLimits(blocked_owners=frozenset({"bob"})).refusal(b1, []) == "owner bob is blocked"
