"""The frontend's backend API (``/backend/``) as the backend speaks it.

Reads are open; writes carry the backend password.  Every call raises
:class:`FrontendError` when the frontend cannot be reached or answers with an error, so
callers decide what to retry.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

from copr_backend.settings import BackendSettings


class FrontendError(RuntimeError):
    """The frontend was unreachable or refused a request; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FrontendClient:
    """The backend's calls to the frontend's backend API (pending tasks, state updates)."""

    def __init__(self, url: str, password: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        token = base64.b64encode(f"backend:{password}".encode()).decode()
        self._auth_header = f"Basic {token}"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> FrontendClient:
        return cls(settings.frontend_url, settings.frontend_auth, settings.frontend_timeout)

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        # urllib rather than requests: a worker process starts for every task, and its
        # start-up time is part of the submit-to-start latency.
        url = f"{self.url}/backend/{path.lstrip('/')}"
        headers = {"Accept": "application/json"}
        data = None
        if method != "GET":
            headers["Authorization"] = self._auth_header
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text[:200]
            raise FrontendError(f"{method} {url}: {error.code} {message}", error.code) from None
        except (urllib.error.URLError, OSError) as error:
            raise FrontendError(f"{method} {url}: {getattr(error, 'reason', error)}") from None
        try:
            return json.loads(payload)
        except ValueError:
            raise FrontendError(f"{method} {url}: the answer is not JSON") from None

    def _with_retries(self, method: str, path: str, body: Any, attempts: int) -> Any:
        # Reports must not be lost to a frontend that restarts: retry network failures
        # and 5xx answers a few times; a 4xx means the report itself is wrong.
        delay = 0.5
        for attempt in range(attempts):
            try:
                return self._request(method, path, body)
            except FrontendError as error:
                if error.status is not None and error.status < 500:
                    raise
                if attempt == attempts - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    # --- builds ---------------------------------------------------------------------------

    def pending_jobs(self) -> list[dict[str, Any]]:
        jobs = self._request("GET", "pending-jobs/")
        if not isinstance(jobs, list):
            raise FrontendError("pending-jobs: expected a list")
        return jobs

    def build_task(self, task_id: str) -> dict[str, Any] | None:
        """The full task JSON; None when the build or chroot no longer exists."""
        try:
            if "-" in task_id:
                return dict(self._request("GET", f"get-build-task/{task_id}/"))
            return dict(self._request("GET", f"get-srpm-build-task/{task_id}/"))
        except FrontendError as error:
            if error.status == 404:
                return None
            raise

    def starting_build(self, task: dict[str, Any]) -> bool:
        data = {"build_id": task["build_id"], "task_id": task["task_id"]}
        if task.get("chroot") and "-" in str(task["task_id"]):
            data["chroot"] = task["chroot"]
        answer = self._with_retries("POST", "starting_build/", data, attempts=5)
        return bool(answer.get("can_start"))

    def update_builds(self, builds: list[dict[str, Any]], attempts: int = 8) -> dict[str, Any]:
        return dict(self._with_retries("POST", "update/", {"builds": builds}, attempts))

    def cancel_requests(self) -> list[str]:
        return [str(what) for what in self._request("GET", "build-tasks/cancel-requests/")]

    def task_canceled(self, task_id: str, was_running: bool) -> None:
        self._with_retries("POST", f"build-tasks/canceled/{task_id}/", was_running, attempts=5)

    # --- actions --------------------------------------------------------------------------

    def pending_actions(self) -> list[dict[str, Any]]:
        actions = self._request("GET", "pending-actions/")
        if not isinstance(actions, list):
            raise FrontendError("pending-actions: expected a list")
        return actions

    def action(self, action_id: int) -> dict[str, Any] | None:
        try:
            return dict(self._request("GET", f"action/{action_id}/"))
        except FrontendError as error:
            if error.status == 404:
                return None
            raise

    def finish_action(self, action_id: int, result: int, message: str | None = None) -> None:
        entry = {
            "id": action_id,
            "result": result,
            "message": message,
            "ended_on": int(time.time()),
        }
        self._with_retries("POST", "update/", {"actions": [entry]}, attempts=8)
