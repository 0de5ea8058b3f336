"""Build messages on a bus through fedora-messaging, or nowhere.

Topics ``copr.build.start`` and ``copr.chroot.start`` when a build task starts running,
``copr.build.end`` when it ends; the body is the one ``copr-messaging``'s schemas accept
(``status, chroot, build, owner, copr, pkg, version, user, what, ip, who, pid``).  The
``null`` publisher is the default; ``amqp`` publishes with ``fedora_messaging.api.publish``
the message classes of :mod:`copr_backend.messages`, whose schema names are the topics:
a consumer with ``copr-messaging`` installed reads them as its own classes.

fedora-messaging's configuration is global to a process: the ``fedora-messaging`` config
file (TLS certificates, client properties, …) named by ``messaging_config``, else the
library's own default (``$FEDORA_MESSAGING_CONF``, ``/etc/fedora-messaging/config.toml``),
with ``amqp_url``, ``amqp_exchange`` and ``topic_prefix`` set on top of it.  One publisher
per process, then — the backend makes one per worker.

The same messages also feed the other sinks the ``message_sinks`` setting names (the
``endpoints`` sink of :mod:`copr_backend.notifications`): one message model, published to
every sink.  Publishing never fails a build: a message that cannot be sent is logged and
dropped.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from typing import Any

from copr_backend.settings import BackendSettings

log = logging.getLogger(__name__)

BUILD_START = "copr.build.start"
CHROOT_START = "copr.chroot.start"
BUILD_END = "copr.build.end"
WHO = "copr_backend.builds.worker"


class MessagingError(RuntimeError):
    """The messaging settings cannot be used (a bad fedora-messaging config file)."""


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
    """Publishes through fedora-messaging (AMQP 0-9-1), waiting for the broker's confirm.

    ``None`` for ``url``, ``exchange`` or ``topic_prefix`` keeps what the fedora-messaging
    config file says.  fedora-messaging prefixes the routing key as ``<prefix>.<topic>``.
    """

    def __init__(
        self,
        url: str | None = None,
        exchange: str | None = None,
        topic_prefix: str | None = None,
        *,
        config_file: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        from fedora_messaging import config
        from fedora_messaging.exceptions import ConfigurationException

        try:
            config.conf.load_config(os.fspath(config_file) if config_file else None)
        except ConfigurationException as error:
            raise MessagingError(f"bad fedora-messaging configuration: {error}") from None
        overrides = {"amqp_url": url, "publish_exchange": exchange, "topic_prefix": topic_prefix}
        config.conf.update({k: v for k, v in overrides.items() if v is not None})
        self.exchange = str(config.conf["publish_exchange"])
        self.timeout = timeout

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        from fedora_messaging import api
        from fedora_messaging import exceptions as fm_exceptions

        from copr_backend.messages import message_class

        try:
            message = message_class(topic)(body=body)
            # fedora-messaging checks the body against the class's schema before sending.
            api.publish(message, timeout=int(max(1, self.timeout)))
        except fm_exceptions.ValidationError as error:
            log.error("message %s does not fit its schema, not sent: %s", topic, error)
        except fm_exceptions.BaseException as error:
            log.warning("cannot publish %s to %s: %s", topic, self.exchange, error)


class FanoutPublisher(MessagePublisher):
    """Every message to each of several sinks."""

    def __init__(self, sinks: list[MessagePublisher]) -> None:
        self.sinks = sinks

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.publish(topic, body)


def _amqp_sink(settings: BackendSettings) -> MessagePublisher:
    return AmqpPublisher(
        settings.amqp_url,
        settings.amqp_exchange,
        settings.topic_prefix,
        config_file=settings.messaging_config,
        timeout=settings.message_timeout,
    )


def _endpoint_sink(settings: BackendSettings) -> MessagePublisher:
    from copr_backend.notifications.sink import EndpointSink

    return EndpointSink.from_settings(settings)


SINKS = {"amqp": _amqp_sink, "endpoints": _endpoint_sink}
"""Message sinks by the name ``message_sinks`` gives them."""


def sink_names(settings: BackendSettings) -> list[str]:
    """The sinks the settings name (``message_publisher = "amqp"`` names ``amqp``)."""
    names = list(dict.fromkeys(settings.message_sinks))
    if settings.message_publisher == "amqp" and "amqp" not in names:
        names.insert(0, "amqp")
    return names


def create_publisher(settings: BackendSettings) -> MessagePublisher:
    """What a worker publishes its build messages to: every sink the settings name."""
    sinks = [SINKS[name](settings) for name in sink_names(settings)]
    if not sinks:
        return NullPublisher()
    return sinks[0] if len(sinks) == 1 else FanoutPublisher(sinks)
