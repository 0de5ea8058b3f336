"""The frontend's backend API (``/backend/``), as the backend, dist-git and builders speak it.

One client for every service, so that all of them retry the same way:

- A call that fails for a reason that may pass — the frontend cannot be reached, a
  connection breaks, it answers 5xx (a restarting worker, a database that is busy) —
  is tried again with growing pauses (:class:`~copr_common.outage.Backoff`) for up to
  ``patience`` seconds.  A 4xx answer is never retried: the request itself is wrong.
- Reports (``update/``, ``import-completed/``, ``starting_build/``, ...) get the
  client's ``report_patience``: a lost report costs a redone build or import.  Queue
  polls (``pending-jobs/``, ``importing/``, ...) get a short ``poll_patience``, enough to
  ride over one restarting frontend worker: a dispatcher whose poll fails just tries
  again next round, and logs the outage once (see :mod:`copr_common.dispatcher`).
- While a call keeps failing, the client logs one warning when the outage starts and
  one line when it ends, not one per attempt (a queue poll leaves that to its
  dispatcher, which logs the outage of its task source the same way).

Every request carries ``Copr-FE-BE-API-Version``; writes (and the reads of secrets, such
as the pending notification deliveries) carry the backend password (HTTP Basic).  Every
failure raises :class:`BackendApiError` with the HTTP status, if any.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast
from urllib.parse import urlencode

import requests

from copr_common.outage import Backoff, Outage

__all__ = [
    "API_VERSION",
    "API_VERSION_HEADER",
    "DEPENDENCY_MAX_ITEMS",
    "DEPENDENCY_MAX_ITEM_LENGTH",
    "BackendApiClient",
    "BackendApiError",
]

API_VERSION_HEADER = "Copr-FE-BE-API-Version"
# The version of the backend API this client speaks (the frontend answers with its own).
API_VERSION = "6"
# The frontend checks the password only; the user part of HTTP Basic is informational.
AUTH_USER = "backend"
# What a succeeded build chroot's report (``update/``) may say it provides and requires:
# at most this many items of each, each at most this long; the frontend refuses more.
DEPENDENCY_MAX_ITEMS = 20_000
# The most task ids one ``queued-tasks/`` call may ask about (the frontend refuses more).
QUEUED_TASKS_MAX = 1000
DEPENDENCY_MAX_ITEM_LENGTH = 1000

log = logging.getLogger("copr_common.backend_api")


class BackendApiError(RuntimeError):
    """The frontend was unreachable or refused a request; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed (no answer, or a 5xx answer)."""
        return self.status is None or self.status >= 500


class BackendApiClient:
    """A client of one frontend's ``/backend/`` API; see the module docstring."""

    def __init__(
        self,
        url: str,
        password: str = "",
        *,
        timeout: float = 30.0,
        report_patience: float = 300.0,
        poll_patience: float = 5.0,
        first_delay: float = 0.5,
        max_delay: float = 5.0,
        max_size: int | None = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.password = password
        self.timeout = timeout
        self.report_patience = report_patience
        self.poll_patience = poll_patience
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_size = max_size
        self.log = logger or log
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(
            {API_VERSION_HEADER: API_VERSION, "Accept": "application/json"}
        )
        self._outage = Outage(f"the frontend at {self.url}", self.log)
        self._lock = threading.Lock()
        self._warned_version: str | None = None

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> BackendApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        patience: float | None = None,
        absolute: bool = False,
        log_outage: bool = True,
        authenticated: bool | None = None,
    ) -> Any:
        """The JSON answer of ``method`` on ``/backend/<path>`` (or on the URL ``path``).

        Transient failures are retried for ``patience`` seconds (default: the report
        patience); the last failure is raised as :class:`BackendApiError`.  Without
        ``log_outage`` the caller tells of the outage itself (a dispatcher's poll).  The
        password goes with every write, and with a read when ``authenticated``.
        """
        url = path if absolute else f"{self.url}/backend/{path.lstrip('/')}"
        patience = self.report_patience if patience is None else patience
        deadline = time.monotonic() + patience
        backoff = Backoff(self.first_delay, self.max_delay)
        auth = method != "GET" if authenticated is None else authenticated
        while True:
            try:
                answer = self._attempt(method, url, body, auth)
            except BackendApiError as error:
                if not error.transient:
                    raise
                if log_outage:
                    with self._lock:
                        self._outage.failed(error, f"{method} {url}")
                delay = backoff.next()
                if time.monotonic() + delay > deadline:
                    raise
                self._sleep(delay)
                continue
            with self._lock:
                self._outage.recovered()
            return answer

    def _attempt(self, method: str, url: str, body: Any, auth: bool) -> Any:
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if auth:
            kwargs["auth"] = (AUTH_USER, self.password)
        if method != "GET":
            kwargs["json"] = body
        if self.max_size is not None:
            kwargs["stream"] = True
        try:
            with self._session.request(method, url, **kwargs) as response:
                payload = self._read(response, url)
                status = response.status_code
                self._check_version(response)
        except requests.RequestException as error:
            raise BackendApiError(f"{method} {url}: {_reason(error)}") from None
        if status >= 400:
            raise BackendApiError(f"{method} {url}: {status} {_error_text(payload)}", status)
        try:
            return json.loads(payload)
        except ValueError:
            raise BackendApiError(f"{method} {url}: the answer is not JSON", status) from None

    def _read(self, response: requests.Response, url: str) -> bytes:
        if self.max_size is None:
            return response.content
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > self.max_size:
                raise BackendApiError(
                    f"the answer of {url} is larger than {self.max_size} bytes",
                    response.status_code,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_version(self, response: requests.Response) -> None:
        theirs = response.headers.get(API_VERSION_HEADER)
        if theirs is None or theirs == API_VERSION or theirs == self._warned_version:
            return
        self._warned_version = theirs
        self.log.warning(
            "the frontend at %s speaks backend API version %s, this client version %s",
            self.url,
            theirs,
            API_VERSION,
        )

    def _list(self, path: str, *, authenticated: bool = False) -> list[Any]:
        data = self.request(
            "GET", path, patience=self.poll_patience, log_outage=False, authenticated=authenticated
        )
        if not isinstance(data, list):
            raise BackendApiError(f"GET {path}: expected a JSON list, got {type(data).__name__}")
        return data

    def _object(self, data: Any, what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise BackendApiError(f"{what}: expected a JSON object, got {type(data).__name__}")
        return cast(dict[str, Any], data)

    def _optional_object(self, path: str) -> dict[str, Any] | None:
        try:
            return self._object(self.request("GET", path), path)
        except BackendApiError as error:
            if error.status == 404:
                return None
            raise

    # --- builds ------------------------------------------------------------------------------

    def pending_jobs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """``GET pending-jobs/``: the tasks to run (starting and running ones included);
        with ``limit``, only the first ``limit`` pending ones, each with its ``priority``.
        """
        return self._list("pending-jobs/" if limit is None else f"pending-jobs/?limit={limit}")

    def queued_tasks(self, task_ids: Collection[str]) -> set[str]:
        """Those of ``task_ids`` still in the queue (the whole ``pending-jobs`` lists them),
        asked :data:`QUEUED_TASKS_MAX` at a time.
        """
        asked = sorted(set(task_ids))
        queued: set[str] = set()
        for first in range(0, len(asked), QUEUED_TASKS_MAX):
            chunk = asked[first : first + QUEUED_TASKS_MAX]
            answer = self._list("queued-tasks/?" + urlencode([("task_id", t) for t in chunk]))
            queued.update(str(task_id) for task_id in answer)
        return queued

    def build_task(self, task_id: str) -> dict[str, Any] | None:
        """The full task of ``<build_id>`` or ``<build_id>-<chroot>``; None when it is gone."""
        if "-" in task_id:
            return self._optional_object(f"get-build-task/{task_id}/")
        return self._optional_object(f"get-srpm-build-task/{task_id}/")

    def get_task(self, url: str) -> Any:
        """A task at any URL (a builder's ``--task-url``), retried like a report."""
        return self.request("GET", url, absolute=True)

    def starting_build(self, task: Mapping[str, Any]) -> bool:
        """``POST starting_build/``: whether this task may start now (it also marks it starting)."""
        data: dict[str, Any] = {"build_id": task["build_id"], "task_id": task["task_id"]}
        if task.get("chroot") and "-" in str(task["task_id"]):
            data["chroot"] = task["chroot"]
        answer = self._object(self.request("POST", "starting_build/", data), "starting_build")
        return bool(answer.get("can_start"))

    def update_builds(self, builds: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST update/`` with build reports (states, results, reasons)."""
        return self._object(self.request("POST", "update/", {"builds": builds}), "update")

    def reschedule(self, build_id: int, task_id: str, chroot: str | None) -> dict[str, Any]:
        """``POST reschedule_build_chroot/``: the task's builder died; make it pending again."""
        data: dict[str, Any] = {"build_id": build_id, "task_id": task_id}
        if chroot:
            data["chroot"] = chroot
        return self._object(
            self.request("POST", "reschedule_build_chroot/", data), "reschedule_build_chroot"
        )

    def cancel_requests(self) -> list[str]:
        """``GET build-tasks/cancel-requests/``: the task ids someone asked to cancel."""
        return [str(what) for what in self._list("build-tasks/cancel-requests/")]

    def task_canceled(self, task_id: str, was_running: bool) -> None:
        """``POST build-tasks/canceled/<task_id>/``: the cancel request is handled."""
        self.request("POST", f"build-tasks/canceled/{task_id}/", was_running)

    # --- actions -----------------------------------------------------------------------------

    def pending_actions(self) -> list[dict[str, Any]]:
        """``GET pending-actions/``: the actions waiting to run, in the order to run them."""
        return self._list("pending-actions/")

    def action(self, action_id: int) -> dict[str, Any] | None:
        """``GET action/<id>/``; None when the action is gone."""
        return self._optional_object(f"action/{action_id}/")

    def finish_action(self, action_id: int, result: int, message: str | None = None) -> None:
        """``POST update/`` with one action's result."""
        entry = {
            "id": action_id,
            "result": result,
            "message": message,
            "ended_on": int(time.time()),
        }
        self.request("POST", "update/", {"actions": [entry]})

    # --- dist-git ----------------------------------------------------------------------------

    def importing(self) -> list[Any]:
        """``GET importing/``: the builds whose SRPM waits for its dist-git import."""
        return self._list("importing/")

    def import_completed(self, payload: dict[str, Any]) -> None:
        """``POST import-completed/`` with one import's outcome."""
        self.request("POST", "import-completed/", payload)

    # --- notifications -----------------------------------------------------------------------

    def notification_events(self, events: list[dict[str, Any]]) -> tuple[int, int]:
        """``POST notification-events/``: hand build messages over; how many deliveries
        and e-mails they made.  Retried like a poll: the caller keeps the messages until it
        succeeds (handing one over twice makes no second delivery).
        """
        answer = self.request(
            "POST",
            "notification-events/",
            {"events": events},
            patience=self.poll_patience,
            log_outage=False,
        )
        made = self._object(answer, "notification-events")
        return int(made.get("deliveries", 0)), int(made.get("mails", 0))

    def pending_deliveries(self, limit: int) -> list[dict[str, Any]]:
        """``GET pending-deliveries/?limit=N``: the deliveries due now, with their signed
        bodies and headers (so the password goes with it).
        """
        return self._list(f"pending-deliveries/?limit={int(limit)}", authenticated=True)

    def delivery_results(self, results: list[dict[str, Any]]) -> None:
        """``POST delivery-results/``: the outcome of each attempted delivery.  Retried like
        a report: a lost one makes its deliveries due again, and sent twice (a second
        report of one attempt changes nothing).
        """
        self.request("POST", "delivery-results/", {"results": results})

    def send_mail(self, limit: int) -> dict[str, int]:
        """``POST send-mail/``: have the frontend send the build e-mail due now through its
        own SMTP server (its settings and password never leave it); the counts ``sent``,
        ``failed`` and ``retrying``.  The frontend keeps the mail and its retries, so a
        lost answer loses nothing: the next round asks again.
        """
        answer = self._object(
            self.request(
                "POST",
                "send-mail/",
                {"limit": int(limit)},
                patience=self.poll_patience,
                log_outage=False,
            ),
            "send-mail",
        )
        return {key: int(answer.get(key, 0)) for key in ("sent", "failed", "retrying")}

    # --- download statistics ---------------------------------------------------------------

    def access_log_offset(self, log: str, inode: int, size: int) -> int:
        """``GET access-log/``: where the frontend's counting of the shipped ``log``
        (``host:path``, the file of ``inode`` and ``size`` bytes) stopped.
        """
        query = urlencode({"log": log, "inode": inode, "size": size})
        answer = self._object(self.request("GET", f"access-log/?{query}"), "access-log")
        return int(answer.get("offset", 0))

    def access_log_lines(self, payload: dict[str, Any]) -> int:
        """``POST access-log/`` with lines of a log (``log``, ``inode``, ``size``,
        ``start``, ``end``, ``lines``); how many downloads they counted.  Sent twice
        (a lost answer), a batch counts once; one that does not start where counting
        stopped is a 409 :class:`BackendApiError`.
        """
        answer = self._object(self.request("POST", "access-log/", payload), "access-log")
        return int(answer.get("counted", 0))


def _reason(error: requests.RequestException) -> str:
    # requests nests the interesting part (refused, reset, timed out) a few levels down.
    cause: BaseException = error
    while cause.__context__ is not None and not str(cause):
        cause = cause.__context__
    return str(cause) or type(error).__name__


def _error_text(payload: bytes) -> str:
    text = payload.decode(errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])[:500]
    return text[:200]
