"""``copr-backend-notification-dispatcher``: queued build messages to the frontend, due
deliveries to their endpoints.

One round: (1) move the messages the workers queued in Redis to a processing list and
hand them to the frontend, which records one delivery per subscribed endpoint — the
processing list is only cleared once the frontend has them, and a message handed over
twice makes no second delivery, so a crash loses nothing and doubles nothing; (2) fetch
the deliveries due now, POST each body with its headers (the frontend signed it) to its
endpoint, a few at a time, each within ``notification_timeout``; (3) report every
outcome; (4) ask the frontend to send the build e-mail due now (it holds the SMTP
settings, and applies the same retry policy).  A 2xx answer is a success; anything else
(another status, a redirect, a timeout, a refused connection) is a failed attempt the
frontend retries later, with exponential backoff.  Between rounds the dispatcher sleeps
``notification_poll_interval`` seconds, or less when a worker queues a message.

The frontend calls go through the backend-API client every service shares
(:mod:`copr_common.backend_api`, its retries and the API version header).  A frontend or
Redis that is away is ridden out: the round ends, the next one tries again, and the
outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import redis
import requests

from copr_backend.frontend import BackendApiClient, BackendApiError, frontend_client
from copr_backend.settings import BackendSettings
from copr_common.outage import Outage
from copr_common.redis_keys import NOTIFICATIONS_PROCESSING, NOTIFICATIONS_QUEUE

log = logging.getLogger(__name__)

MAX_ERROR = 300


def deliver(http: requests.Session, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST one delivery; its outcome as the frontend wants it reported."""
    result: dict[str, Any] = {"id": request["id"], "ok": False, "status_code": None, "error": None}
    try:
        response = http.post(
            str(request["url"]),
            data=str(request["body"]).encode(),
            headers={str(k): str(v) for k, v in dict(request["headers"]).items()},
            timeout=timeout,
            # A redirect could send the signed body somewhere the admins did not name.
            allow_redirects=False,
            stream=True,
        )
        response.close()  # what the endpoint answers beyond its status does not matter
    except requests.RequestException as error:
        result["error"] = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        return result
    result["status_code"] = response.status_code
    if 200 <= response.status_code < 300:
        result["ok"] = True
    else:
        result["error"] = f"HTTP {response.status_code} {response.reason or ''}".strip()[:MAX_ERROR]
    return result


class NotificationDispatcher:
    """Forwards queued build messages to the frontend and delivers due notifications."""

    def __init__(
        self, settings: BackendSettings, client: redis.Redis, api: BackendApiClient
    ) -> None:
        self.settings = settings
        self.redis = client
        self.api = api
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "Copr-Notifications/1"
        self._stop = False
        # When a round looks for due deliveries and e-mail even without new ones.
        self._next_look = 0.0
        self._frontend_outage = Outage(f"the frontend at {api.url}", log)
        self._redis_outage = Outage("redis", log)

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> NotificationDispatcher:
        return cls(
            settings,
            redis.Redis.from_url(settings.redis_url),
            frontend_client(settings),
        )

    # --- one round ------------------------------------------------------------------------

    def forward_events(self) -> tuple[int, int, int]:
        """Hand the queued messages to the frontend: how many it got, and how many
        deliveries and e-mails they made.
        """
        forwarded = made = mails = 0
        batch_size = self.settings.notification_batch
        while True:
            pending = self.redis.llen(NOTIFICATIONS_PROCESSING)
            while pending < batch_size and self.redis.lmove(
                NOTIFICATIONS_QUEUE, NOTIFICATIONS_PROCESSING, "LEFT", "RIGHT"
            ):
                pending += 1
            raw = self.redis.lrange(NOTIFICATIONS_PROCESSING, 0, -1)
            if not raw:
                return forwarded, made, mails
            events = []
            for item in raw:
                try:
                    entry = json.loads(item)
                except ValueError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("build"), int):
                    events.append(
                        {
                            "topic": str(entry.get("topic")),
                            "build": entry["build"],
                            "chroot": str(entry.get("chroot") or ""),
                        }  # fmt: skip
                    )
            if events:
                more, more_mails = self.api.notification_events(events)  # may raise: kept
                made, mails, forwarded = made + more, mails + more_mails, forwarded + len(events)
            self.redis.ltrim(NOTIFICATIONS_PROCESSING, len(raw), -1)

    def deliver_due(self) -> int:
        """Attempt every due delivery; how many were attempted."""
        due = self.api.pending_deliveries(self.settings.notification_batch)
        if not due:
            return 0
        timeout = self.settings.notification_timeout
        with ThreadPoolExecutor(max_workers=self.settings.notification_workers) as pool:
            results = list(pool.map(lambda request: deliver(self.http, request, timeout), due))
        for result in results:
            if not result["ok"]:
                log.info("delivery %s failed: %s", result["id"], result["error"])
        self.api.delivery_results(results)
        return len(results)

    def run_round(self) -> None:
        try:
            forwarded, made, mails = self.forward_events()
            if made:
                log.info("%d new deliveries", made)
            # Messages that made nothing to send make no look for what is due: during a
            # burst of builds that saves two requests per message. What falls due later
            # (retries) is found by a quiet round's look, at least every poll interval.
            now = time.monotonic()
            if forwarded and not (made or mails) and now < self._next_look:
                return
            self._next_look = now + self.settings.notification_poll_interval
            while self.deliver_due() >= self.settings.notification_batch and not self._stop:
                pass  # a full batch: there may be more due at once
            mailed = self.api.send_mail(self.settings.notification_batch)
            if mailed["sent"] or mailed["failed"] or mailed["retrying"]:
                log.info("build e-mail: %(sent)d sent, %(failed)d failed, "
                         "%(retrying)d to retry", mailed)  # fmt: skip
        except BackendApiError as error:
            self._frontend_outage.failed(error, "notifications")
            return
        except redis.RedisError as error:
            self._redis_outage.failed(error, "the queued build messages")
            return
        self._frontend_outage.recovered()
        self._redis_outage.recovered()

    # --- the loop -------------------------------------------------------------------------

    def _wait(self) -> None:
        """Sleep until the next poll, or until a worker queues a message."""
        try:
            # The message moved lands where forward_events looks first: nothing is lost.
            # BLMOVE takes a timeout in fractional seconds; redis-py types it as int (its
            # blpop takes a float), and rounding would turn 0.5 into "wait forever".
            self.redis.blmove(
                NOTIFICATIONS_QUEUE,
                NOTIFICATIONS_PROCESSING,
                self.settings.notification_poll_interval,  # type: ignore[arg-type]
                "LEFT",
                "RIGHT",
            )
        except redis.RedisError:
            time.sleep(self.settings.notification_poll_interval)

    def install_signal_handlers(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self._stop = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def run(self, max_rounds: int | None = None) -> None:
        rounds = 0
        log.info("notification dispatcher started")
        while not self._stop:
            self.run_round()
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                break
            self._wait()
        self.http.close()
        self.api.close()
        log.info("notification dispatcher stopped")
