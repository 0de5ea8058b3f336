"""The ``endpoints`` message sink: build messages queued in Redis for the notification
dispatcher.

The worker only appends to a list; the dispatcher takes it from there.  The list is
capped (``notification_queue_max``): with no dispatcher running, the oldest messages go
first rather than Redis filling up.  A Redis that cannot be reached loses the message
(logged), as a bus that is down does: a build never fails or waits for a notification.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis

from copr_backend.messaging import MessagePublisher
from copr_backend.settings import BackendSettings
from copr_common.redis_keys import NOTIFICATIONS_QUEUE

log = logging.getLogger(__name__)

# Only what the frontend needs to know which events happened: it reads the rest (states,
# package, URLs) from its own records when it makes the deliveries.
_FIELDS = ("build", "chroot", "status")


class EndpointSink(MessagePublisher):
    """Queues build messages in a capped Redis list for the notification dispatcher."""

    def __init__(self, client: redis.Redis, max_queued: int) -> None:
        self.redis = client
        self.max_queued = max_queued

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> EndpointSink:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        return cls(client, settings.notification_queue_max)

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        entry = {"topic": topic, **{k: body.get(k) for k in _FIELDS}, "time": int(time.time())}
        try:
            with self.redis.pipeline() as pipe:
                pipe.rpush(NOTIFICATIONS_QUEUE, json.dumps(entry))
                pipe.ltrim(NOTIFICATIONS_QUEUE, -self.max_queued, -1)
                pipe.execute()
        except redis.RedisError as error:
            log.warning("cannot queue %s of build %s for notification: %s",
                        topic, body.get("build"), error)  # fmt: skip
