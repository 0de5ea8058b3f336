"""The build dispatcher: pending jobs from the frontend, ordered fairly, within the limits.

Each round takes a page of ``/backend/pending-jobs/`` (which lists starting and running
tasks too, so a task whose worker died comes back): the first pending tasks in fair order,
a few per free slot (:meth:`BuildTaskSource.page_limit`), each with the priority the
frontend counted over the whole queue for fair sharing; and hands them to the
:class:`BuildWorkerManager`, which starts one detached worker per task
(``copr-backend-build-worker``) while there are free slots and the limits allow.

Cancel requests for tasks no worker holds are answered here: nothing runs them, so the
frontend may mark them canceled at once.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from redis import Redis

from copr_backend.frontend import BackendApiClient, BackendApiError, frontend_client
from copr_backend.pools import BuilderPool, PoolError, create_pool
from copr_backend.scheduling import BuildLimits, BuildQueueTask, assign_fair_counters
from copr_backend.settings import BackendSettings
from copr_common.dispatcher import Dispatcher, TaskSourceError
from copr_common.redis_keys import BUILD_MANAGER
from copr_common.worker_manager import WorkerManager, WorkerRecord

log = logging.getLogger(__name__)


class _Everything(Collection[str]):
    """Holds every task id: whether a task is queued is not known."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class BuildTaskSource:
    """Reads the frontend's pending jobs as queue tasks, skipping malformed ones.

    Each round also has the builder pool free what ended tasks left held (the resalloc
    pool's tickets of tasks no longer pending; see :meth:`BuilderPool.reap`).
    """

    def __init__(
        self,
        frontend: BackendApiClient,
        manager: BuildWorkerManager,
        pool: BuilderPool | None = None,
    ) -> None:
        self.frontend = frontend
        self.manager = manager
        self.pool = pool
        self._growth = 1  # the page is this many times its normal size

    def page_limit(self) -> int | None:
        """How many pending tasks to ask for: a few per free slot, more while the limits
        refused every task offered (:attr:`BuildWorkerManager.starved`); None: all.
        """
        settings = self.manager.settings
        if settings.queue_page_floor == 0:
            return None
        if self.manager.starved:
            self._growth *= 2
        else:
            self._growth = 1
        free = max(self.manager.max_workers - len(self.manager.workers()), 0)
        normal = free * settings.queue_page_factor + settings.queue_page_floor
        limit = min(normal * self._growth, settings.queue_page_max)
        self._growth = min(self._growth, -(-limit // normal))  # no growth past the ceiling
        return limit

    def get_tasks(self) -> Sequence[BuildQueueTask]:
        limit = self.page_limit()
        try:
            jobs = self.frontend.pending_jobs(limit)
        except BackendApiError as error:
            raise TaskSourceError(str(error)) from None
        tasks = []
        for job in jobs:
            try:
                tasks.append(BuildQueueTask.from_job(job))
            except (KeyError, TypeError, ValueError) as error:
                log.error("skipping a malformed pending job %r: %s", job, error)
        self._answer_orphan_cancels()
        listed = {str(job.get("task_id")) for job in jobs if isinstance(job, dict)}
        cut = limit is not None and len(jobs) >= limit
        queued = self._queued(listed) if cut else listed
        self._reap(queued)
        self.manager.forget_missed_leases(queued)
        return assign_fair_counters(tasks)

    def _queued(self, listed: set[str]) -> Collection[str]:
        """The queued tasks among those listed and those something is kept for, when the
        page was cut: what it does not list may still be queued, so the frontend is
        asked about them.  Unsure (the frontend is away): every task counts as queued.
        """
        kept = set(self.manager.missed_leases())
        if self.pool is not None:
            kept |= self.pool.held_tasks()
        unlisted = kept - listed
        if not unlisted:
            return listed
        try:
            return listed | self.frontend.queued_tasks(unlisted)
        except BackendApiError as error:
            log.warning("cannot ask which tasks are still queued: %s", error)
            return _Everything()

    def _reap(self, queued: Collection[str]) -> None:
        if self.pool is None:
            return
        try:
            self.pool.reap(queued)
        except (PoolError, OSError) as error:
            log.warning("cannot check the builder pool for leaked leases: %s", error)

    def _answer_orphan_cancels(self) -> None:
        try:
            for task_id in self.frontend.cancel_requests():
                if not self.manager.is_held(task_id):
                    log.info("cancel request for %s, which no worker runs", task_id)
                    self.frontend.task_canceled(task_id, False)
        except BackendApiError as error:
            log.warning("cannot process cancel requests: %s", error)


# What each pool's workers import besides warm_modules: the pool's own module (create_pool
# imports it in the worker), and for the local pool the copr-rpmbuild it runs in a fork.
POOL_WARM_MODULES = {
    "local": (
        "copr_backend.pools.local",
        "copr_rpmbuild.cli",
        "copr_rpmbuild.status",
        "copr_rpmbuild.follow",
    ),
    "ssh": ("copr_backend.pools.ssh",),
    "resalloc": ("copr_backend.pools.resalloc",),
}


class BuildWorkerManager(WorkerManager[BuildQueueTask]):
    """Starts one build worker process per build task, up to the pool's slots."""

    # What the worker command imports, ready in its fork server (copr_common.warm_start).
    warm_modules: tuple[str, ...] = (
        "copr_backend.cli",
        "copr_backend.builds.worker",
        "copr_backend.createrepo",
        "copr_backend.frontend",
        "copr_backend.messaging",
        "copr_backend.notifications.sink",
        "copr_backend.pools",
        "copr_backend.signing",
    )

    def __init__(
        self,
        redis: Redis,
        settings: BackendSettings,
        *,
        config_file: str | Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.warm_modules = (*self.warm_modules, *POOL_WARM_MODULES[settings.builder_pool])
        super().__init__(
            redis,
            BUILD_MANAGER,
            max_workers=settings.max_builds,
            start_timeout=settings.worker_start_timeout,
            worker_log_dir=settings.worker_log_dir,
            lock_dir=settings.worker_lock_dir,
        )
        self.settings = settings
        self.config_file = config_file
        self.python = python
        # task id -> (leases missed in a row, monotonic time it may start again)
        self._missed_leases: dict[str, tuple[int, float]] = {}
        self.starved = False
        """The last round had free slots and pending tasks, and started none of them."""
        self.limits = BuildLimits(
            per_owner=settings.max_builds_per_owner,
            per_sandbox=settings.max_builds_per_sandbox,
            per_arch=dict(settings.arch_limits),
            per_tag=dict(settings.tag_limits),
            blocked_owners=frozenset(settings.blocked_owners),
        )

    def worker_command(self, worker_id: str, task: BuildQueueTask) -> list[str]:
        command = [self.python, "-m", "copr_backend.cli"]
        if self.config_file is not None:
            command += ["--config", str(self.config_file)]
        return [*command, "build-worker", "--worker-id", worker_id]

    def on_finished(self, record: WorkerRecord) -> None:
        super().on_finished(record)
        result = record.result or {}
        if result.get("outcome") != "no builder":
            self._missed_leases.pop(record.worker_id, None)
            return
        missed = self._missed_leases.get(record.worker_id, (0, 0.0))[0] + 1
        wait = min(
            self.settings.no_builder_retry_base * 2 ** (missed - 1),
            self.settings.no_builder_retry_max,
        )
        self._missed_leases[record.worker_id] = (missed, time.monotonic() + wait)
        self.log.warning(
            "task %s found no builder (%s); offered again in %g s",
            record.worker_id, result.get("error", ""), wait,
        )  # fmt: skip

    def missed_leases(self) -> list[str]:
        """The tasks whose worker found no builder lately (offered again later)."""
        return list(self._missed_leases)

    def forget_missed_leases(self, queued: Collection[str]) -> None:
        """Drop what is kept about tasks the frontend no longer lists."""
        for task_id in [t for t in self._missed_leases if t not in queued]:
            del self._missed_leases[task_id]

    def dispatch(self, tasks: Iterable[BuildQueueTask]) -> list[str]:
        tasks = list(tasks)
        running = self.workers()
        held = {record.worker_id for record in running}
        offered = any(task.id not in held for task in tasks)
        started = super().dispatch(tasks)
        self.starved = len(running) < self.max_workers and offered and not started
        return started

    def may_start(self, task: BuildQueueTask, running: Sequence[WorkerRecord]) -> bool:
        missed = self._missed_leases.get(task.id)
        if missed is not None and time.monotonic() < missed[1]:
            return False
        refusal = self.limits.refusal(task, running)
        if refusal is not None:
            self.log.debug("not starting %s yet: %s", task.id, refusal)
            return False
        return True


def create_build_dispatcher(
    settings: BackendSettings, config_file: str | Path | None = None
) -> Dispatcher[BuildQueueTask]:
    redis = Redis.from_url(settings.redis_url)
    manager = BuildWorkerManager(redis, settings, config_file=config_file)
    source = BuildTaskSource(frontend_client(settings), manager, create_pool(settings))
    return Dispatcher(source, manager, sleep_time=settings.sleep_time)
