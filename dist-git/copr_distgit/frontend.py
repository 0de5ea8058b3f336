"""The frontend's backend API as dist-git uses it: the import queue and the result report.

The client is the one every service shares (:mod:`copr_common.backend_api`): reports
are retried for ``frontend_retry_for`` seconds while the frontend is unreachable or
failing (5xx), a refusal (4xx) is not retried, and an outage is logged once.
"""

from __future__ import annotations

import logging

from copr_common.backend_api import BackendApiClient, BackendApiError
from copr_common.dispatcher import TaskSourceError
from copr_distgit.importer import failure_payload
from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask, InvalidTaskError

__all__ = ["BackendApiClient", "BackendApiError", "ImportQueue", "frontend_client"]

log = logging.getLogger("copr_distgit.frontend")


def frontend_client(settings: DistGitSettings) -> BackendApiClient:
    return BackendApiClient(
        settings.frontend_url,
        settings.frontend_auth,
        report_patience=settings.frontend_retry_for,
        logger=log,
    )


class ImportQueue:
    """The dispatcher's task source.  A task the frontend lists but that cannot be parsed
    is reported as failed right away, so its build ends instead of coming back forever.
    """

    def __init__(self, client: BackendApiClient) -> None:
        self.client = client

    def get_tasks(self) -> list[ImportTask]:
        try:
            raw_tasks = self.client.importing()
        except BackendApiError as error:
            raise TaskSourceError(str(error)) from None
        tasks = []
        for raw in raw_tasks:
            try:
                tasks.append(ImportTask.from_dict(raw))
            except InvalidTaskError as error:
                log.error("the frontend sent an unusable import task: %s", error)
                build_id = raw.get("build_id") if isinstance(raw, dict) else None
                if isinstance(build_id, int) and not isinstance(build_id, bool):
                    try:
                        self.client.import_completed(failure_payload(build_id, str(error)))
                    except BackendApiError as report_error:
                        log.error("cannot report build %s as failed: %s", build_id, report_error)
        return tasks
