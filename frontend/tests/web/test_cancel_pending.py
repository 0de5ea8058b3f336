"""The builds page's "cancel every waiting build" button: builders see and use it, it
cancels only what no builder has taken, and nobody else may press it."""

from __future__ import annotations

from copr_common.enums import PermissionEnum, StatusEnum
from copr_frontend.testing import Factory

from .conftest import csrf_token, log_in

PAGE = "/coprs/owner/hello/builds/"
BUTTON = "/coprs/owner/hello/cancel_pending/"


def test_builders_cancel_every_waiting_build(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    builder = factory.user("builder")
    project = factory.project(owner, "hello", chroots=("fedora-42-x86_64",))
    factory.grant(project, builder, builder=PermissionEnum.approved)
    queued = factory.build(project)
    running = factory.build(project, source_status=StatusEnum.running)
    log_in(client, builder)
    page = client.get(PAGE).get_data(as_text=True)
    assert BUTTON in page
    response = client.post(BUTTON, data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 303
    db_session.expire_all()
    assert queued.state == StatusEnum.canceled
    assert running.state == StatusEnum.running
    page = client.get(PAGE).get_data(as_text=True)
    assert f"Canceled builds: {queued.id}" in page
    client.post(BUTTON, data={"csrf_token": csrf_token(client, PAGE)})
    assert "No build was waiting for a builder." in client.get(PAGE).get_data(as_text=True)


def test_others_may_not_cancel(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    stranger = factory.user("stranger")
    project = factory.project(owner, "hello", chroots=("fedora-42-x86_64",))
    queued = factory.build(project)
    log_in(client, stranger)
    assert BUTTON not in client.get(PAGE).get_data(as_text=True)
    token = csrf_token(client, PAGE)
    assert client.post(BUTTON, data={"csrf_token": token}).status_code == 403
    assert client.post(BUTTON, data={}).status_code == 400  # no CSRF token
    db_session.expire_all()
    assert queued.state == StatusEnum.pending
