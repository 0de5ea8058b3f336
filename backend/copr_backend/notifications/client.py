"""The notification dispatcher's calls to the frontend's backend API.

Every call carries the backend password (the pending deliveries hold endpoint URLs and
their signatures).  Any failure is a :class:`NotificationsApiError`; the dispatcher
keeps what it has and tries again at its next round.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from copr_backend.settings import BackendSettings


class NotificationsApiError(RuntimeError):
    """The frontend could not be reached or refused the call; ``status`` is its HTTP
    status, None when it was not reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotificationsApi:
    def __init__(self, url: str, password: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/backend"
        self.timeout = timeout
        self.http = requests.Session()
        self.http.auth = ("backend", password)

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> NotificationsApi:
        return cls(settings.frontend_url, settings.frontend_auth, settings.frontend_timeout)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(
                method, f"{self.url}/{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise NotificationsApiError(f"{method} {path}: {error}") from None
        if response.status_code != 200:
            try:
                message = response.json().get("error", response.text[:200])
            except ValueError:
                message = response.text[:200]
            raise NotificationsApiError(
                f"{method} {path}: {response.status_code} {message}", response.status_code
            )
        try:
            return response.json()
        except ValueError:
            raise NotificationsApiError(f"{method} {path}: the answer is not JSON") from None

    def record_events(self, events: list[dict[str, Any]]) -> int:
        """Hand build messages to the frontend; how many deliveries they made."""
        answer = self._call("POST", "notification-events/", json={"events": events})
        return int(answer.get("deliveries", 0))

    def pending_deliveries(self, limit: int) -> list[dict[str, Any]]:
        answer = self._call("GET", "pending-deliveries/", params={"limit": limit})
        if not isinstance(answer, list):
            raise NotificationsApiError("pending-deliveries: expected a list")
        return answer

    def report_results(self, results: list[dict[str, Any]], attempts: int = 4) -> None:
        """Report what was delivered.  A report that is lost makes its deliveries due
        again, and sent twice, so it is retried a few times (it is idempotent: a second
        report of an attempt changes nothing)."""
        delay = 0.5
        for attempt in range(attempts):
            try:
                self._call("POST", "delivery-results/", json={"results": results})
                return
            except NotificationsApiError as error:
                if (error.status is not None and error.status < 500) or attempt == attempts - 1:
                    raise
                time.sleep(delay)
                delay *= 2
