"""The import worker manager and the worker process it starts for each build."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import redis

from copr_common.redis_keys import IMPORT_MANAGER
from copr_common.worker_manager import (
    WorkerAlreadyRunning,
    WorkerManager,
    WorkerRecord,
    WorkerSession,
    WorkerSessionError,
)
from copr_distgit.frontend import BackendApiError, frontend_client
from copr_distgit.importer import failure_payload, run_import
from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask, InvalidTaskError

log = logging.getLogger("copr_distgit.worker")


class ImportWorkerManager(WorkerManager[ImportTask]):
    """Starts one import worker process per import task, up to ``max_workers``."""

    # What the worker command imports, ready in its fork server (copr_common.warm_start).
    warm_modules = (
        "copr_distgit.cli",
        "copr_distgit.importer",
        "copr_distgit.srpm",
        "copr_distgit.task",
        "copr_distgit.worker",
    )

    def __init__(
        self,
        conn: redis.Redis,
        settings: DistGitSettings,
        *,
        config_file: str | None = None,
    ) -> None:
        super().__init__(
            conn,
            IMPORT_MANAGER,
            max_workers=settings.max_workers,
            worker_timeout=settings.import_timeout,
            worker_log_dir=settings.state_dir / "worker-output",
            lock_dir=settings.state_dir / "worker-locks",
            log=logging.getLogger("copr_distgit.dispatcher"),
        )
        self.config_file = config_file

    def worker_command(self, worker_id: str, task: ImportTask) -> list[str]:
        command = [sys.executable, "-m", "copr_distgit.cli"]
        if self.config_file:
            command += ["--config", self.config_file]
        return [*command, "worker", "--worker-id", worker_id]

    def may_start(self, task: ImportTask, running: Sequence[WorkerRecord]) -> bool:
        # Imports of one package are serialised by a lock anyway; not starting the second
        # one keeps its slot free for another package meanwhile.
        reponame = task.reponame
        return not any(_reponame(record.task) == reponame for record in running)


def _stamp() -> float:
    return round(time.time(), 3)


def _reponame(task: dict[str, Any]) -> str:
    return f"{task.get('owner')}/{task.get('project')}/{task.get('pkg_name')}"


def run_worker(settings: DistGitSettings, worker_id: str) -> int:
    """Body of one worker process; the exit code."""
    conn = redis.Redis.from_url(settings.redis_url)
    client = frontend_client(settings)
    try:
        with WorkerSession(
            conn, IMPORT_MANAGER, worker_id, lock_dir=settings.state_dir / "worker-locks"
        ) as session:
            started = _stamp()
            try:
                task = ImportTask.from_dict(session.task)
            except InvalidTaskError as error:
                build_id = session.task.get("build_id")
                payload = failure_payload(build_id if isinstance(build_id, int) else -1, str(error))
            else:
                payload = run_import(settings, task)
            # The frontend shows them among the build's stage timings.
            payload["timings"] = {"import_started": started, "import_ended": _stamp()}
            session.result = payload
            try:
                client.import_completed(payload)
            except BackendApiError as error:
                # The build stays in the frontend's queue and will be imported again;
                # an identical re-import is a no-op, so nothing is doubled.
                log.error("cannot report the import of build %s: %s", payload["build_id"], error)
                session.result = {**payload, "reported": False}
                return 1
        return 0
    except WorkerAlreadyRunning as already:
        log.info("%s", already)
        return 0
    except WorkerSessionError as error:
        log.error("%s", error)
        return 1
    finally:
        client.close()
        conn.close()
