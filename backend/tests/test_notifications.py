"""Outbound notifications end to end: a real build's messages go through the endpoints
sink and the notification dispatcher to loopback endpoints, signed; an endpoint that
answers 500 is retried with backoff while the build goes on; a dead one is disabled."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from copr_backend.messaging import FanoutPublisher, NullPublisher, create_publisher, sink_names
from copr_backend.notifications.dispatcher import NotificationDispatcher
from copr_backend.notifications.sink import EndpointSink
from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.backend_api import BackendApiClient
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.redis_keys import NOTIFICATIONS_PROCESSING, NOTIFICATIONS_QUEUE
from copr_common.testing.receiver import HookReceiver, hook_receiver
from copr_frontend.notifications import logic
from copr_frontend.notifications.models import NotificationDelivery, NotificationEndpoint

CHROOT = "fedora-42-x86_64"
RETRY_BASE = 1.0


@pytest.fixture
def settings(settings: Any) -> Any:
    # Loopback endpoints over http, and retries soon enough for a test.
    return settings.model_copy(
        update={
            "notification_allow_loopback_http": True,
            "notification_retry_base": RETRY_BASE,
            "notification_retry_max": 4.0,
            "notification_max_attempts": 100,
            "notification_failure_limit": 1000,
        }
    )


@pytest.fixture
def good() -> Iterator[HookReceiver]:
    yield from hook_receiver(200)


@pytest.fixture
def flaky() -> Iterator[HookReceiver]:
    yield from hook_receiver(500)


class RunningDispatcher:
    def __init__(self, dispatcher: NotificationDispatcher) -> None:
        self.dispatcher = dispatcher
        self.thread = threading.Thread(target=dispatcher.run, daemon=True)

    def __enter__(self) -> NotificationDispatcher:
        self.thread.start()
        return self.dispatcher

    def __exit__(self, *_exc: object) -> None:
        self.dispatcher._stop = True
        self.thread.join(timeout=30)


def add_endpoint(db_session, settings, project, url: str, secret: str, **kw: Any):
    endpoint = logic.add_endpoint(db_session, settings, project, url, secret=secret, **kw)
    db_session.commit()
    return endpoint


def deliveries(db_session, endpoint: NotificationEndpoint) -> list[NotificationDelivery]:
    db_session.expire_all()
    return list(
        db_session.query(NotificationDelivery)
        .filter(NotificationDelivery.endpoint_id == endpoint.id)
        .order_by(NotificationDelivery.id)
    )


def test_sinks_the_settings_name(make_backend) -> None:
    assert isinstance(create_publisher(make_backend().settings), NullPublisher)
    backend = make_backend(message_sinks=["endpoints"])
    assert isinstance(create_publisher(backend.settings), EndpointSink)
    both = make_backend(message_publisher="amqp", message_sinks=["endpoints", "endpoints"])
    assert sink_names(both.settings) == ["amqp", "endpoints"]
    fanout = FanoutPublisher([EndpointSink.from_settings(backend.settings)] * 2)
    fanout.publish("copr.build.end", {"build": 1, "chroot": "srpm-builds", "status": 1})
    assert backend.redis.llen(NOTIFICATIONS_QUEUE) == 2


def test_the_queue_is_capped_and_a_dead_redis_loses_only_the_message(make_backend) -> None:
    backend = make_backend(message_sinks=["endpoints"], notification_queue_max=3)
    sink = EndpointSink.from_settings(backend.settings)
    for build in range(1, 6):
        sink.publish("copr.build.start", {"build": build, "chroot": "srpm-builds", "status": 3})
    queued = [json.loads(x)["build"] for x in backend.redis.lrange(NOTIFICATIONS_QUEUE, 0, -1)]
    assert queued == [3, 4, 5]
    import redis

    dead = EndpointSink(redis.Redis(port=1, socket_connect_timeout=1), 10)
    dead.publish("copr.build.start", {"build": 1})  # logged, not raised


def test_queued_messages_survive_a_frontend_that_is_down(
    make_backend, factory, db_session, settings, good, caplog
) -> None:
    backend = make_backend(message_sinks=["endpoints"])
    project = factory.project(name="queued", chroots=[CHROOT])
    endpoint = add_endpoint(db_session, settings, project, good.url, "s" * 16)
    build = factory.build(project, source_status=StatusEnum.running)
    sink = EndpointSink.from_settings(backend.settings)
    sink.publish("copr.build.start", {"build": build.id, "chroot": "srpm-builds", "status": 3})

    down = NotificationDispatcher(
        backend.settings,
        backend.redis,
        BackendApiClient("http://127.0.0.1:1", "x", timeout=2, poll_patience=0),
    )
    with caplog.at_level("INFO", logger="copr_backend"):
        for _ in range(3):
            down.run_round()
    assert (
        backend.redis.llen(NOTIFICATIONS_QUEUE) + backend.redis.llen(NOTIFICATIONS_PROCESSING) == 1
    )
    assert deliveries(db_session, endpoint) == []
    # One line for the outage, not one per round.
    said = [r.getMessage() for r in caplog.records if "127.0.0.1:1" in r.getMessage()]
    assert len(said) == 1, said
    assert "unavailable" in said[0]

    up = NotificationDispatcher.from_settings(backend.settings)
    up.run_round()
    assert (
        backend.redis.llen(NOTIFICATIONS_QUEUE) + backend.redis.llen(NOTIFICATIONS_PROCESSING) == 0
    )
    (delivery,) = deliveries(db_session, endpoint)
    assert delivery.state == "delivered"
    (request,) = good.received()
    assert request.signed_by("s" * 16)
    # The same message handed over again (a crash before the list was cleared) is not
    # delivered twice.
    sink.publish("copr.build.start", {"build": build.id, "chroot": "srpm-builds", "status": 3})
    up.run_round()
    assert len(good.received()) == 1


def test_a_dead_endpoint_is_disabled_with_the_reason(
    make_backend, factory, db_session, settings, frontend
) -> None:
    from copr_frontend.app import SETTINGS_KEY

    frontend.app.config[SETTINGS_KEY] = frontend.app.config[SETTINGS_KEY].model_copy(
        update={"notification_failure_limit": 3, "notification_retry_base": 0.01}
    )
    backend = make_backend(notification_timeout=2)
    project = factory.project(name="dead", chroots=[CHROOT])
    endpoint = add_endpoint(db_session, settings, project, "http://127.0.0.1:1/x", "d" * 16)
    build = factory.build(project, source_status=StatusEnum.running)
    logic.record_task_event(db_session, settings, "copr.build.start", build.id,
                            "srpm-builds")  # fmt: skip
    db_session.commit()
    dispatcher = NotificationDispatcher.from_settings(backend.settings)

    def disabled() -> bool:
        dispatcher.run_round()
        db_session.expire_all()
        return not db_session.get(NotificationEndpoint, endpoint.id).enabled

    wait_for(disabled, 60, "the endpoint to be disabled", interval=1.0)
    db_session.expire_all()
    dead = db_session.get(NotificationEndpoint, endpoint.id)
    assert dead.disabled_reason.startswith("disabled after 3 failed attempts in a row; the last: ")
    assert "ConnectionError" in dead.disabled_reason
    (delivery,) = deliveries(db_session, endpoint)
    assert (delivery.state, delivery.attempts) == ("failed", 3)


@pytest.mark.slow
def test_a_build_notifies_and_a_failing_endpoint_is_retried_without_delaying_it(
    make_backend, factory, db_session, settings, make_srpm, distgit, good, flaky
) -> None:
    backend = make_backend(message_sinks=["endpoints"], notification_poll_interval=0.5)
    project = factory.project(name="notified", chroots=[CHROOT])
    add_endpoint(db_session, settings, project, good.url, "good-secret-0123456")
    failing = add_endpoint(db_session, settings, project, flaky.url,
                           "flaky-secret-0123456", events=["build.started"])  # fmt: skip
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello", "3.1")}
    )

    def finished() -> bool:
        db_session.expire_all()
        return build.state.is_finished

    dispatcher = NotificationDispatcher.from_settings(backend.settings)
    with RunningDispatcher(dispatcher), running_build_dispatcher(backend):
        wait_for(finished, 180, "the build to finish", interval=0.3)
        assert build.state == StatusEnum.succeeded, backend.worker_logs()
        # The build finished while every attempt at the failing endpoint failed.
        (pending,) = deliveries(db_session, failing)
        assert pending.state == "pending"
        wait_for(lambda: len(flaky.received()) >= 4, 60, "four attempts at the failing endpoint")
        flaky.status = 200
        wait_for(lambda: deliveries(db_session, failing)[0].state == "delivered", 60,
                 "the failing endpoint's delivery to succeed once it answers 200")  # fmt: skip

        def good_got_all() -> list[Any]:
            events = [r.headers.get("X-Copr-Event") for r in good.received()]
            return events if {"chroot.ended", "build.ended"} <= set(events) else []

        events = wait_for(good_got_all, 60, "chroot.ended and build.ended at the good endpoint")
    # The chroot's end and the build's end come of one message, and the deliveries of a
    # round go out side by side: either may arrive first.
    assert events[0] == "build.started"
    assert sorted(events[1:]) == ["build.ended", "chroot.ended"]
    for request in good.received():
        assert request.signed_by("good-secret-0123456")
        assert not request.signed_by("flaky-secret-0123456")
        assert request.headers["User-Agent"] == "Copr-Notifications/1"
        assert request.headers["Content-Type"] == "application/json"
    by_event = {r.headers.get("X-Copr-Event"): r.json() for r in good.received()}
    started, chroot_ended, ended = (
        by_event[event] for event in ("build.started", "chroot.ended", "build.ended")
    )
    assert started["build"]["id"] == build.id
    assert started["build"]["source_build"]["state"] == "running"
    assert chroot_ended["chroot"]["name"] == CHROOT
    assert chroot_ended["chroot"]["state"] == "succeeded"
    assert chroot_ended["chroot"]["result_url"].endswith(f"/{CHROOT}/{build.id:08d}-hello/")
    assert ended["build"]["state"] == "succeeded"
    assert ended["build"]["package"] == {"name": "hello", "version": "3.1-1"}
    assert ended["build"]["repo_url"] == f"{settings.results_url}/{project.ownername}/notified/"
    log_url = ended["build"]["chroots"][0]["log_url"]
    import urllib.request

    with urllib.request.urlopen(log_url, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200

    # Backoff: each wait between attempts at the failing endpoint at least doubles (up to
    # the cap of 4 s); only lower bounds, the machine may be slow.
    attempts = [r.at for r in flaky.received()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= RETRY_BASE - 0.2
    assert gaps[1] >= 2 * RETRY_BASE - 0.2
    assert gaps[2] >= 4 * RETRY_BASE - 0.2
    assert all(r.signed_by("flaky-secret-0123456") for r in flaky.received())
    (delivered,) = deliveries(db_session, failing)
    assert delivered.attempts == len(attempts)
    assert delivered.response_code == 200
    assert build.ended_on is not None


def test_the_dispatcher_has_the_frontend_send_the_build_mail(
    make_backend, factory, db_session, frontend, smtp_server
) -> None:
    from copr_frontend.app import SETTINGS_KEY
    from copr_frontend.builds.states import set_chroot_status, set_source_status
    from copr_frontend.notifications.models import EmailDelivery

    frontend.app.config[SETTINGS_KEY] = frontend.app.config[SETTINGS_KEY].model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "smtp_from": "copr@copr.test",
        }
    )
    backend = make_backend(message_sinks=["endpoints"])
    user = factory.user("mailed")
    user.mail, user.email_notifications = "mailed@example.org", True
    project = factory.project(user, "mailing", chroots=[CHROOT], email_notifications=True)
    build = factory.build(project, user=user, source_status=StatusEnum.succeeded)
    set_source_status(build, StatusEnum.succeeded)
    set_chroot_status(build.chroots[0], StatusEnum.succeeded)
    db_session.commit()
    sink = EndpointSink.from_settings(backend.settings)
    sink.publish("copr.build.end", {"build": build.id, "chroot": CHROOT, "status": 1})

    NotificationDispatcher.from_settings(backend.settings).run_round()
    (message,) = smtp_server.messages
    assert message["To"] == "mailed@example.org"
    assert message["Subject"].startswith(f"Copr build {build.id} of ")
    assert message["Subject"].endswith(" in mailed/mailing: succeeded")
    db_session.expire_all()
    (mail,) = db_session.query(EmailDelivery).all()
    assert mail.state == "delivered"


class CountingClient(BackendApiClient):
    """The real client, counting the dispatcher's looks for what is due."""

    looks = 0

    def send_mail(self, limit: int) -> dict[str, Any]:
        self.looks += 1
        return super().send_mail(limit)


def test_messages_that_make_nothing_to_send_make_no_look(
    make_backend, factory, db_session, settings, good
) -> None:
    """A burst of build messages for a project nobody listens to costs one request each,
    not three; a quiet round still looks, and a message that makes a delivery does."""
    backend = make_backend(message_sinks=["endpoints"])
    project = factory.project(name="quiet", chroots=[CHROOT])
    build = factory.build(project, source_status=StatusEnum.running)
    sink = EndpointSink.from_settings(backend.settings)
    api = CountingClient(backend.settings.frontend_url, backend.settings.frontend_auth)
    dispatcher = NotificationDispatcher(backend.settings, backend.redis, api)
    message = {"build": build.id, "chroot": "srpm-builds", "status": 3}
    sink.publish("copr.build.start", message)
    dispatcher.run_round()
    assert api.looks == 1  # the first round looks whatever it forwarded
    for _ in range(3):
        sink.publish("copr.build.start", message)
        dispatcher.run_round()
    assert api.looks == 1
    assert (
        backend.redis.llen(NOTIFICATIONS_QUEUE) + backend.redis.llen(NOTIFICATIONS_PROCESSING) == 0
    )
    dispatcher.run_round()  # nothing forwarded: a quiet round looks
    assert api.looks == 2
    endpoint = add_endpoint(db_session, settings, project, good.url, "q" * 16)
    other = factory.build(project, source_status=StatusEnum.running)
    sink.publish("copr.build.start", {**message, "build": other.id})
    dispatcher.run_round()
    assert api.looks == 3
    (delivery,) = deliveries(db_session, endpoint)
    assert delivery.state == "delivered"
