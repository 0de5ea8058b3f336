"""From the backend's build messages to signed deliveries, retries with backoff, and a
failing endpoint disabled — through the backend API as the notification dispatcher
speaks it."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import flask
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.builds.states import set_chroot_status, set_source_status
from copr_frontend.notifications import logic
from copr_frontend.notifications.models import (
    NotificationDelivery,
    NotificationEndpoint,
)
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

CHROOTS = ["fedora-41-x86_64", "fedora-42-x86_64"]


@pytest.fixture
def project(factory: Factory) -> Project:
    return factory.project(name="proj", chroots=CHROOTS)


@pytest.fixture
def endpoint(
    db_session: Session, project: Project, settings: FrontendSettings
) -> NotificationEndpoint:
    made = logic.add_endpoint(
        db_session, settings, project, "https://hooks.example.org/a", secret="s" * 20
    )
    db_session.commit()
    return made


def events(client: flask.testing.FlaskClient, headers: dict[str, str], *entries: Any) -> Any:
    body = {"events": [{"topic": t, "build": b, "chroot": c} for t, b, c in entries]}
    return client.post("/backend/notification-events/", json=body, headers=headers)


def deliveries(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    return list(session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


def finish(session: Session, build: Build, chroot: str | None, status: StatusEnum) -> None:
    session.expire_all()
    fresh = session.get(Build, build.id)
    assert fresh is not None
    if chroot is None:
        set_source_status(fresh, status)
    else:
        found = fresh.chroot(chroot)
        assert found is not None
        set_chroot_status(found, status)
    session.commit()


def test_the_three_events_of_a_build(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    endpoint: NotificationEndpoint,
    backend_headers: dict[str, str],
) -> None:
    build = factory.build(project, source_status=StatusEnum.running)
    started = events(client, backend_headers, ("copr.build.start", build.id, "srpm-builds"),
                     ("copr.chroot.start", build.id, "srpm-builds"))  # fmt: skip
    assert started.json == {"deliveries": 1, "mails": 0}
    finish(db_session, build, None, StatusEnum.succeeded)
    finish(db_session, build, CHROOTS[0], StatusEnum.succeeded)
    # The source build's end says nothing new; the first chroot's end is a chroot event.
    events(client, backend_headers, ("copr.build.end", build.id, "srpm-builds"))
    events(client, backend_headers, ("copr.build.end", build.id, CHROOTS[0]))
    finish(db_session, build, CHROOTS[1], StatusEnum.failed)
    # Reported twice (a worker retried): still one delivery per event.
    for _ in range(2):
        events(client, backend_headers, ("copr.build.end", build.id, CHROOTS[1]))
    made = deliveries(db_session)
    assert [(d.event, d.chroot) for d in made] == [
        ("build.started", ""),
        ("chroot.ended", CHROOTS[0]),
        ("chroot.ended", CHROOTS[1]),
        ("build.ended", ""),
    ]
    ended = json.loads(made[-1].payload)
    assert ended["event"] == "build.ended"
    body = ended["build"]
    assert body["id"] == build.id
    assert body["state"] == "failed"
    assert body["ownername"] == project.ownername
    assert body["url"] == f"http://copr.test/coprs/build/{build.id}"
    assert body["repo_url"] == f"http://results.test/results/{project.ownername}/proj/"
    assert [c["state"] for c in body["chroots"]] == ["succeeded", "failed"]
    chroot_event = json.loads(made[1].payload)
    assert chroot_event["chroot"]["name"] == CHROOTS[0]
    assert chroot_event["chroot"]["repo_url"].endswith(f"/proj/{CHROOTS[0]}/")


def test_pending_deliveries_are_signed_and_results_drive_the_retries(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    endpoint: NotificationEndpoint,
    backend_headers: dict[str, str],
    settings: FrontendSettings,
) -> None:
    build = factory.build(project, source_status=StatusEnum.running)
    events(client, backend_headers, ("copr.build.start", build.id, "srpm-builds"))
    due = client.get("/backend/pending-deliveries/", headers=backend_headers).json
    (request,) = due
    assert request["url"] == "https://hooks.example.org/a"
    headers = request["headers"]
    assert headers["X-Copr-Event"] == "build.started"
    assert headers["X-Copr-Delivery"] == str(request["id"])
    expected = hmac.new(b"s" * 20, request["body"].encode(), hashlib.sha256).hexdigest()
    assert headers["X-Copr-Signature-256"] == f"sha256={expected}"

    def report(**result: Any) -> None:
        sent = client.post("/backend/delivery-results/", headers=backend_headers,
                           json={"results": [{"id": request["id"], **result}]})  # fmt: skip
        assert sent.json == {"updated": [request["id"]]}

    report(ok=False, status_code=500, error=None)
    (delivery,) = deliveries(db_session)
    assert delivery.state == "pending"
    assert delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_on is not None
    assert delivery.last_attempt_on is not None
    # Whole seconds, rounded up: never before the delay is over.
    base = settings.notification_retry_base
    first_wait = delivery.next_attempt_on - delivery.last_attempt_on
    assert base <= first_wait <= base + 1
    # Not due until then.
    assert client.get("/backend/pending-deliveries/", headers=backend_headers).json == []
    report(ok=False, status_code=None, error="connection refused")
    (delivery,) = deliveries(db_session)
    assert 2 * base <= delivery.next_attempt_on - delivery.last_attempt_on <= 2 * base + 1
    report(ok=True, status_code=204, error=None)
    (delivery,) = deliveries(db_session)
    assert (delivery.state, delivery.attempts, delivery.response_code) == ("delivered", 3, 204)
    assert delivery.endpoint.failures_in_row == 0
    # A late repeat of a result changes nothing.
    report(ok=False, status_code=500, error=None)
    assert deliveries(db_session)[0].state == "delivered"


def test_backoff_is_capped_and_attempts_end(
    db_session: Session, factory: Factory, project: Project, endpoint: NotificationEndpoint,
    settings: FrontendSettings,
) -> None:  # fmt: skip
    tight = settings.model_copy(
        update={"notification_max_attempts": 4, "notification_retry_max": 50}
    )
    build = factory.build(project, source_status=StatusEnum.running)
    (delivery,) = logic.record_task_event(
        db_session, tight, "copr.build.start", build.id, "srpm-builds"
    )
    waits = []
    for attempt in range(4):
        logic.record_attempt(db_session, tight, delivery, ok=False, response_code=502, error=None,
                             at=1000 * attempt)  # fmt: skip
        if delivery.next_attempt_on is not None:
            waits.append(delivery.next_attempt_on - 1000 * attempt)
    assert waits == [30, 50, 50]
    assert delivery.state == "failed"
    assert delivery.attempts == 4


def test_an_endpoint_failing_in_a_row_is_disabled(
    db_session: Session, factory: Factory, project: Project, endpoint: NotificationEndpoint,
    settings: FrontendSettings,
) -> None:  # fmt: skip
    strict = settings.model_copy(update={"notification_failure_limit": 3})
    builds = [factory.build(project, source_status=StatusEnum.running) for _ in range(3)]
    made = [
        logic.record_task_event(db_session, strict, "copr.build.start", b.id, "srpm-builds")[0]
        for b in builds
    ]
    logic.record_attempt(db_session, strict, made[0], ok=False, response_code=500, error=None)
    logic.record_attempt(db_session, strict, made[1], ok=False, response_code=500, error=None)
    assert endpoint.enabled
    logic.record_attempt(db_session, strict, made[0], ok=False, response_code=None,
                         error="timed out")  # fmt: skip
    assert not endpoint.enabled
    assert endpoint.disabled_reason == (
        "disabled after 3 failed attempts in a row; the last: timed out"
    )
    assert {d.state for d in made} == {"failed"}
    db_session.commit()
    # Nothing is due for a disabled endpoint, and new events make no deliveries.
    assert logic.due_deliveries(db_session, 10, at=2**31 - 1) == []
    assert (
        logic.record_task_event(db_session, strict, "copr.build.start", builds[0].id, "srpm-builds")
        == []
    )


def test_a_success_resets_the_run_of_failures(
    db_session: Session, factory: Factory, project: Project, endpoint: NotificationEndpoint,
    settings: FrontendSettings,
) -> None:  # fmt: skip
    strict = settings.model_copy(update={"notification_failure_limit": 2})
    builds = [factory.build(project, source_status=StatusEnum.running) for _ in range(2)]
    one, two = (
        logic.record_task_event(db_session, strict, "copr.build.start", b.id, "srpm-builds")[0]
        for b in builds
    )
    logic.record_attempt(db_session, strict, one, ok=False, response_code=500, error=None)
    logic.record_attempt(db_session, strict, two, ok=True, response_code=200, error=None)
    logic.record_attempt(db_session, strict, one, ok=False, response_code=500, error=None)
    assert endpoint.enabled


def test_subscriptions_and_other_projects(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
) -> None:
    only_end = logic.add_endpoint(db_session, settings, project, "https://h.example.org/end",
                                  events=["build.ended"])  # fmt: skip
    other = factory.project(name="elsewhere")
    logic.add_endpoint(db_session, settings, other, "https://h.example.org/other")
    db_session.commit()
    build = factory.build(project, source_status=StatusEnum.running)
    events(client, backend_headers, ("copr.build.start", build.id, "srpm-builds"))
    assert deliveries(db_session) == []
    finish(db_session, build, None, StatusEnum.failed)
    events(client, backend_headers, ("copr.build.end", build.id, "srpm-builds"))
    (delivery,) = deliveries(db_session)
    assert (delivery.endpoint_id, delivery.event) == (only_end.id, "build.ended")


MALFORMED_REPORTS: tuple[tuple[str, Any], ...] = (
    ("/backend/notification-events/", {"events": "x"}),
    ("/backend/notification-events/", {"events": [{"topic": 1, "build": 1, "chroot": "x"}]}),
    (
        "/backend/notification-events/",
        {"events": [{"topic": "t", "build": "b", "chroot": "x"}]},
    ),
    ("/backend/notification-events/", [1]),
    ("/backend/delivery-results/", {"results": [{"id": 1, "ok": "yes"}]}),
    ("/backend/delivery-results/", {"results": [{"id": 1, "ok": True, "status_code": "200"}]}),
    ("/backend/delivery-results/", {"results": [{"id": 1, "ok": True, "error": 5}]}),
    ("/backend/delivery-results/", {"results": [{"ok": True}]}),
)


def test_malformed_reports_are_400(
    client: flask.testing.FlaskClient, backend_headers: dict[str, str]
) -> None:
    for path, body in MALFORMED_REPORTS:
        response = client.post(path, json=body, headers=backend_headers)
        assert response.status_code == 400, (path, body)


def test_the_dispatcher_routes_need_the_backend_password(
    client: flask.testing.FlaskClient,
) -> None:
    assert client.get("/backend/pending-deliveries/").status_code == 401
    assert client.post("/backend/notification-events/", json={"events": []}).status_code == 401
    assert client.post("/backend/delivery-results/", json={"results": []}).status_code == 401
    from copr_frontend.testing import basic_auth

    wrong = basic_auth("backend", "not-the-password")
    assert client.get("/backend/pending-deliveries/", headers=wrong).status_code == 401


def test_unknown_builds_and_deliveries_are_ignored(
    client: flask.testing.FlaskClient, backend_headers: dict[str, str]
) -> None:
    made = events(client, backend_headers, ("copr.build.end", 424242, "srpm-builds"),
                  ("copr.build.end", 2**40, "srpm-builds"))  # fmt: skip
    assert made.json == {"deliveries": 0, "mails": 0}
    results = client.post("/backend/delivery-results/", headers=backend_headers,
                          json={"results": [{"id": 99, "ok": True}]})  # fmt: skip
    assert results.json == {"updated": []}
    assert client.get("/backend/pending-deliveries/?limit=0",
                      headers=backend_headers).status_code == 400  # fmt: skip
