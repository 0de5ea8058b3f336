"""Build messages on a bus (fedora-messaging over AMQP), or nowhere.

Topics ``copr.build.start`` and ``copr.chroot.start`` when a build task starts running,
``copr.build.end`` when it ends; the body is the one ``copr-messaging``'s schemas accept
(``status, chroot, build, owner, copr, pkg, version, user, what, ip, who, pid``).  The
``null`` publisher is the default; ``amqp`` publishes to an exchange the way
fedora-messaging does (JSON body, the schema name in the ``fedora_messaging_schema``
header), so fedora-messaging consumers and ``copr-messaging`` read the messages.

Publishing never fails a build: a message that cannot be sent is logged and dropped.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import uuid
from abc import ABC, abstractmethod
from typing import Any

from copr_backend.settings import BackendSettings

log = logging.getLogger(__name__)

BUILD_START = "copr.build.start"
CHROOT_START = "copr.chroot.start"
BUILD_END = "copr.build.end"
WHO = "copr_backend.builds.worker"


def build_message(
    task: dict[str, Any], status: int, chroot: str, *, ip: str | None = None
) -> dict[str, Any]:
    """The body of a build message for ``task`` (the full build task JSON)."""
    version = task.get("package_version")
    body: dict[str, Any] = {
        "status": int(status),
        "chroot": chroot,
        "build": int(task["build_id"]),
        "owner": str(task["project_owner"]),
        "copr": str(task["project_name"]),
        "pkg": task.get("package_name"),
        "version": str(version) if version else None,
        "user": task.get("submitter"),
        "ip": ip,
        "who": WHO,
        "pid": os.getpid(),
    }
    body["what"] = (
        f"build {body['build']} of {body['owner']}/{body['copr']} in {chroot}: "
        f"pkg {body['pkg']} version {body['version']} status {status}"
    )
    return body


class MessagePublisher(ABC):
    @abstractmethod
    def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Send one message; never raises."""


class NullPublisher(MessagePublisher):
    def publish(self, topic: str, body: dict[str, Any]) -> None:
        log.debug("message %s (not sent anywhere): %s", topic, body)


class AmqpPublisher(MessagePublisher):
    """fedora-messaging's wire format over AMQP 0-9-1 (pika), one connection per message."""

    def __init__(self, url: str, exchange: str = "amq.topic", topic_prefix: str = "") -> None:
        self.url = url
        self.exchange = exchange
        self.topic_prefix = topic_prefix

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        import pika
        import pika.exceptions

        headers = {
            "fedora_messaging_schema": topic,
            "fedora_messaging_severity": 20,
            "sent-at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        properties = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            headers=headers,
            message_id=str(uuid.uuid4()),
        )
        routing_key = f"{self.topic_prefix}{topic}"
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
            try:
                channel = connection.channel()
                channel.basic_publish(
                    self.exchange, routing_key, json.dumps(body).encode(), properties
                )
            finally:
                connection.close()
        except (pika.exceptions.AMQPError, OSError) as error:
            log.warning("cannot publish %s: %s", routing_key, error)


def create_publisher(settings: BackendSettings) -> MessagePublisher:
    if settings.message_publisher == "amqp":
        return AmqpPublisher(settings.amqp_url, settings.amqp_exchange, settings.topic_prefix)
    return NullPublisher()
