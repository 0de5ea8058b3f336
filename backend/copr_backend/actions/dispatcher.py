"""The action dispatcher: one detached worker per waiting action, in the frontend's order."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from copr_backend.frontend import BackendApiClient, BackendApiError, frontend_client
from copr_backend.settings import BackendSettings
from copr_common.dispatcher import Dispatcher, TaskSourceError
from copr_common.redis_keys import ACTION_MANAGER
from copr_common.worker_manager import QueueTask, WorkerManager

log = logging.getLogger(__name__)


@dataclass
class ActionQueueTask(QueueTask):
    """A pending frontend action as the dispatcher queues it: its id and priority."""

    action_id: int
    action_priority: int = 0

    @property
    def id(self) -> str:
        return str(self.action_id)

    @property
    def priority(self) -> int:
        return self.action_priority

    def to_dict(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "priority": self.action_priority}


class ActionTaskSource:
    """Reads the frontend's pending actions as queue tasks, skipping malformed ones."""

    def __init__(self, frontend: BackendApiClient) -> None:
        self.frontend = frontend

    def get_tasks(self) -> Sequence[ActionQueueTask]:
        try:
            actions = self.frontend.pending_actions()
        except BackendApiError as error:
            raise TaskSourceError(str(error)) from None
        tasks = []
        for entry in actions:
            try:
                tasks.append(ActionQueueTask(int(entry["id"]), int(entry.get("priority") or 0)))
            except (KeyError, TypeError, ValueError):
                log.error("skipping a malformed pending action %r", entry)
        return tasks


class ActionWorkerManager(WorkerManager[ActionQueueTask]):
    """Starts one ``copr-backend-action-worker`` process per action, up to the configured limit."""

    # What the worker command imports, ready in its fork server (copr_common.warm_start).
    warm_modules = (
        "copr_backend.cli",
        "copr_backend.actions.handlers",
        "copr_backend.createrepo",
        "copr_backend.frontend",
        "copr_backend.results",
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
        super().__init__(
            redis,
            ACTION_MANAGER,
            max_workers=settings.max_action_workers,
            start_timeout=settings.worker_start_timeout,
            worker_log_dir=settings.worker_log_dir,
            lock_dir=settings.worker_lock_dir,
        )
        self.config_file = config_file
        self.python = python

    def worker_command(self, worker_id: str, task: ActionQueueTask) -> list[str]:
        command = [self.python, "-m", "copr_backend.cli"]
        if self.config_file is not None:
            command += ["--config", str(self.config_file)]
        return [*command, "action-worker", "--worker-id", worker_id]


def create_action_dispatcher(
    settings: BackendSettings, config_file: str | Path | None = None
) -> Dispatcher[ActionQueueTask]:
    redis = Redis.from_url(settings.redis_url)
    manager = ActionWorkerManager(redis, settings, config_file=config_file)
    source = ActionTaskSource(frontend_client(settings))
    return Dispatcher(source, manager, sleep_time=settings.sleep_time)
