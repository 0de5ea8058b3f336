"""The frontend's backend API as dist-git uses it: the import queue and the result report."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from copr_common.dispatcher import TaskSourceError
from copr_distgit.importer import failure_payload
from copr_distgit.task import ImportTask, InvalidTaskError

log = logging.getLogger("copr_distgit.frontend")

# The frontend authenticates the backend (and dist-git) by password; the user part of
# HTTP Basic is not checked.
AUTH_USER = "user"


class FrontendError(RuntimeError):
    """The frontend could not be reached or answered with an error."""


class FrontendClient:
    """dist-git's calls to the frontend's backend API, retried on transient failures."""

    def __init__(
        self,
        base_url: str,
        password: str,
        *,
        timeout: float = 30.0,
        attempts: int = 5,
        retry_delay: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.password = password
        self.timeout = timeout
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.session = requests.Session()

    def importing(self) -> list[Any]:
        """``GET /backend/importing/``: the builds waiting for their import."""
        url = f"{self.base_url}/backend/importing/"
        try:
            response = self.session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            raise FrontendError(f"GET {url}: {error}") from None
        if response.status_code != 200:
            raise FrontendError(f"GET {url}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise FrontendError(f"GET {url}: the answer is not JSON") from None
        if not isinstance(data, list):
            raise FrontendError(f"GET {url}: expected a JSON list, got {type(data).__name__}")
        return data

    def import_completed(self, payload: dict[str, Any]) -> None:
        """``POST /backend/import-completed/``, retried while the frontend is unreachable
        or failing (5xx); a refusal (4xx) is not retried.
        """
        url = f"{self.base_url}/backend/import-completed/"
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(
                    url, json=payload, auth=(AUTH_USER, self.password), timeout=self.timeout
                )
            except requests.RequestException as error:
                last = str(error)
            else:
                if response.status_code < 300:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500:
                    break
            if attempt < self.attempts:
                log.warning(
                    "POST %s failed (%s), attempt %d of %d", url, last, attempt, self.attempts
                )
                time.sleep(self.retry_delay * attempt)
        raise FrontendError(f"POST {url}: {last}")

    def close(self) -> None:
        self.session.close()


class ImportQueue:
    """The dispatcher's task source.  A task the frontend lists but that cannot be parsed
    is reported as failed right away, so its build ends instead of coming back forever.
    """

    def __init__(self, client: FrontendClient) -> None:
        self.client = client

    def get_tasks(self) -> list[ImportTask]:
        try:
            raw_tasks = self.client.importing()
        except FrontendError as error:
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
                    except FrontendError as report_error:
                        log.error("cannot report build %s as failed: %s", build_id, report_error)
        return tasks
