"""What the build dispatcher schedules on: tasks, their priority, and the limits.

Priority (lower runs first) is the frontend's order — source builds before RPM builds,
background builds after everything else — plus a counter per (owner, sandbox, arch): the
n-th queued task of one owner's sandbox on one arch gets n added, so the first tasks of
every owner come before the second tasks of any, and a flood from one owner does not
starve the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from copr_common.worker_manager import QueueTask, WorkerRecord

SOURCE_ARCH = "srpm"
BACKGROUND_PENALTY = 1_000_000
RPM_PENALTY = 1


@dataclass
class BuildQueueTask(QueueTask):
    """One entry of ``/backend/pending-jobs/``: a source build or one chroot of a build."""

    task_id: str
    build_id: int
    owner: str
    sandbox: str
    background: bool
    chroot: str | None
    tags: list[str] = field(default_factory=list)
    is_source: bool = True
    fair_counter: int = 0
    ranked: int | None = None
    """The priority the frontend counted (a paged feed); None: count it here."""

    @classmethod
    def from_job(cls, job: dict[str, Any]) -> BuildQueueTask:
        task_id = str(job["task_id"])
        ranked = job.get("priority")
        if ranked is not None and (not isinstance(ranked, int) or isinstance(ranked, bool)):
            raise ValueError(f"priority must be an integer, not {ranked!r}")
        return cls(
            task_id=task_id,
            build_id=int(job["build_id"]),
            owner=str(job.get("project_owner") or ""),
            sandbox=str(job.get("sandbox") or ""),
            background=bool(job.get("background")),
            chroot=str(job["chroot"]) if job.get("chroot") else None,
            tags=[str(tag) for tag in job.get("tags") or []],
            is_source="-" not in task_id,
            ranked=ranked,
        )

    @property
    def id(self) -> str:
        return self.task_id

    @property
    def arch(self) -> str:
        if self.is_source or not self.chroot:
            return SOURCE_ARCH
        return self.chroot.rsplit("-", 1)[-1]

    @property
    def frontend_priority(self) -> int:
        return (BACKGROUND_PENALTY if self.background else 0) + (
            0 if self.is_source else RPM_PENALTY
        )

    @property
    def priority(self) -> int:
        return self.frontend_priority + self.fair_counter

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "build_id": self.build_id,
            "owner": self.owner,
            "sandbox": self.sandbox,
            "background": self.background,
            "chroot": self.chroot,
            "tags": self.tags,
            "arch": self.arch,
        }


def assign_fair_counters(tasks: Iterable[BuildQueueTask]) -> list[BuildQueueTask]:
    """Number each owner's tasks per (owner, sandbox, arch) in queue order; returns them.

    Tasks of a paged feed come with the priority the frontend counted over the whole
    queue: the rank is what it adds to the task's frontend priority.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    ordered = list(tasks)
    for task in ordered:
        if task.ranked is not None:
            task.fair_counter = task.ranked - task.frontend_priority
            continue
        key = (task.owner, task.sandbox, task.arch)
        seen[key] += 1
        task.fair_counter = seen[key]
    return ordered


@dataclass(frozen=True)
class BuildLimits:
    """How many builds may run at once, per owner, sandbox, arch and tag; who may not build."""

    per_owner: int | None = None
    per_sandbox: int | None = None
    per_arch: dict[str, int] = field(default_factory=dict)
    per_tag: dict[str, int] = field(default_factory=dict)
    blocked_owners: frozenset[str] = frozenset()

    def refusal(self, task: BuildQueueTask, running: Sequence[WorkerRecord]) -> str | None:
        """Why ``task`` may not start next to ``running`` now, or None when it may."""
        if task.owner in self.blocked_owners:
            return f"owner {task.owner} is blocked"
        tasks = [record.task for record in running]
        if self.per_owner is not None:
            count = sum(1 for t in tasks if t.get("owner") == task.owner)
            if count >= self.per_owner:
                return f"owner {task.owner} has {count} builds running"
        if self.per_sandbox is not None:
            count = sum(1 for t in tasks if t.get("sandbox") == task.sandbox)
            if count >= self.per_sandbox:
                return f"sandbox {task.sandbox} has {count} builds running"
        arch_limit = self.per_arch.get(task.arch)
        if arch_limit is not None:
            count = sum(1 for t in tasks if t.get("arch") == task.arch)
            if count >= arch_limit:
                return f"arch {task.arch} has {count} builds running"
        for tag in task.tags:
            tag_limit = self.per_tag.get(tag)
            if tag_limit is None:
                continue
            count = sum(1 for t in tasks if tag in (t.get("tags") or []))
            if count >= tag_limit:
                return f"tag {tag} has {count} builds running"
        return None
