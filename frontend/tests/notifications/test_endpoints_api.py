"""API v3 ``/notification-endpoint/...`` and ``/notification-delivery/list``."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copr_frontend.notifications.models import NotificationEndpoint
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

HOOK = "https://hooks.example.org/copr"


@pytest.fixture
def project(factory: Factory) -> Project:
    return factory.project(name="proj")


def base(project: Project) -> str:
    return f"{project.ownername}/{project.name}"


def count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(NotificationEndpoint)) or 0


def test_add_list_edit_delete(
    client: flask.testing.FlaskClient, factory: Factory, project: Project, db_session: Session
) -> None:
    owner = factory.auth(project.user)
    added = client.post(f"/api_3/notification-endpoint/add/{base(project)}",
                        json={"url": HOOK, "events": ["build.ended"]}, headers=owner)  # fmt: skip
    assert added.status_code == 200, added.json
    endpoint_id = added.json["id"]
    assert added.json["url"] == HOOK
    assert added.json["events"] == ["build.ended"]
    assert added.json["enabled"] is True
    assert len(added.json["secret"]) == 40

    listed = client.get(f"/api_3/notification-endpoint/list/{base(project)}", headers=owner)
    (item,) = listed.json["items"]
    assert "secret" not in item
    assert item["id"] == endpoint_id

    edited = client.put(
        f"/api_3/notification-endpoint/edit/{base(project)}/{endpoint_id}",
        json={"enabled": False, "events": "build.started chroot.ended"},
        headers=owner,
    )
    assert edited.status_code == 200
    assert edited.json["enabled"] is False
    assert edited.json["events"] == ["build.started", "chroot.ended"]
    assert edited.json["disabled_reason"] == "disabled by an admin of the project"
    enabled = client.post(f"/api_3/notification-endpoint/edit/{base(project)}/{endpoint_id}",
                          json={"enabled": True}, headers=owner)  # fmt: skip
    assert enabled.json["disabled_reason"] is None

    deleted = client.delete(
        f"/api_3/notification-endpoint/delete/{base(project)}/{endpoint_id}", headers=owner
    )
    assert deleted.status_code == 200
    assert count(db_session) == 0


def test_a_given_secret_is_kept(
    client: flask.testing.FlaskClient, factory: Factory, project: Project
) -> None:
    added = client.post(f"/api_3/notification-endpoint/add/{base(project)}",
                        json={"url": HOOK, "secret": "my-secret-of-16-chars"},
                        headers=factory.auth(project.user))  # fmt: skip
    assert added.json["secret"] == "my-secret-of-16-chars"
    assert added.json["events"] == ["build.started", "chroot.ended", "build.ended"]


BAD_ENDPOINTS: tuple[tuple[dict[str, Any], str], ...] = (
    ({}, "Missing required field 'url'"),
    ({"url": "http://hooks.example.org/"}, "must be https://"),
    ({"url": "http://127.0.0.1:8080/"}, "must be https://"),
    ({"url": "ftp://hooks.example.org/"}, "must be https://"),
    ({"url": "https://"}, "has no host"),
    ({"url": "https://10.1.2.3/hook"}, "may not point into this network"),
    ({"url": "https://[::1]/hook"}, "may not point into this network"),
    ({"url": "https://169.254.169.254/latest"}, "may not point into this network"),
    ({"url": "https://a b/"}, "must be a URL"),
    ({"url": "https://x:99999/"}, "not a valid URL"),
    ({"url": HOOK, "events": ["build.exploded"]}, "unknown events build.exploded"),
    ({"url": HOOK, "events": []}, "at least one event"),
    ({"url": HOOK, "events": 5}, "list of strings"),
    ({"url": HOOK, "secret": "short"}, "16 to 200"),
    ({"url": ["x"]}, "must be text"),
    ({"url": "https://h.example.org/" + "a" * 2100}, "too long"),
)


def test_bad_endpoints_are_400_and_stored_nowhere(
    client: flask.testing.FlaskClient, factory: Factory, project: Project, db_session: Session
) -> None:
    owner = factory.auth(project.user)
    for body, message in BAD_ENDPOINTS:
        response = client.post(f"/api_3/notification-endpoint/add/{base(project)}", json=body,
                               headers=owner)  # fmt: skip
        assert response.status_code == 400, body
        assert message in response.json["error"], body
    assert count(db_session) == 0


def test_loopback_http_only_where_the_settings_allow_it(
    factory: Factory, project: Project, settings: FrontendSettings, db_session: Session
) -> None:
    from copr_frontend.app import create_app

    app = create_app(settings.model_copy(update={"notification_allow_loopback_http": True}))
    try:
        client = app.test_client()
        owner = factory.auth(project.user)
        for url in ("http://127.0.0.1:8080/hook", "http://localhost/x", "http://[::1]:9/"):
            added = client.post(f"/api_3/notification-endpoint/add/{base(project)}",
                                json={"url": url}, headers=owner)  # fmt: skip
            assert added.status_code == 200, added.json
        refused = client.post(f"/api_3/notification-endpoint/add/{base(project)}",
                              json={"url": "http://10.0.0.1/"}, headers=owner)  # fmt: skip
        assert refused.status_code == 400
    finally:
        app.extensions["copr_database"].dispose()
    assert count(db_session) == 3


def test_edit_refusals(
    client: flask.testing.FlaskClient, factory: Factory, project: Project, db_session: Session
) -> None:
    owner = factory.auth(project.user)
    added = client.post(f"/api_3/notification-endpoint/add/{base(project)}",
                        json={"url": HOOK}, headers=owner).json  # fmt: skip
    path = f"/api_3/notification-endpoint/edit/{base(project)}/{added['id']}"
    assert client.put(path, json={"url": "http://x.example.org/"}, headers=owner).status_code == 400
    assert client.put(path, json={"enabled": "perhaps"}, headers=owner).status_code == 400
    assert client.put(path, json={"events": ["nope"]}, headers=owner).status_code == 400
    missing = f"/api_3/notification-endpoint/edit/{base(project)}/{added['id'] + 100}"
    assert client.put(missing, json={}, headers=owner).status_code == 404
    bad_id = f"/api_3/notification-endpoint/edit/{base(project)}/abc"
    assert client.put(bad_id, json={}, headers=owner).status_code == 400
    # Another project's endpoint is not found through this one.
    other = factory.project(project.user, "other")
    elsewhere = f"/api_3/notification-endpoint/delete/{base(other)}/{added['id']}"
    assert client.delete(elsewhere, headers=owner).status_code == 404
    db_session.expire_all()
    endpoint = db_session.get(NotificationEndpoint, added["id"])
    assert endpoint is not None
    assert endpoint.url == HOOK
    assert endpoint.enabled


def test_only_admins_reach_endpoints_and_deliveries(
    client: flask.testing.FlaskClient, factory: Factory, project: Project, db_session: Session
) -> None:
    stranger = factory.auth(factory.user())
    builder = factory.user()
    factory.grant(project, builder, builder=2)
    admin = factory.user()
    factory.grant(project, admin, admin=2)
    paths = [
        ("get", f"/api_3/notification-endpoint/list/{base(project)}"),
        ("get", f"/api_3/notification-delivery/list/{base(project)}"),
        ("post", f"/api_3/notification-endpoint/add/{base(project)}"),
    ]
    for method, path in paths:
        assert getattr(client, method)(path, json={"url": HOOK}).status_code == 401
        for who in (stranger, factory.auth(builder)):
            assert getattr(client, method)(path, json={"url": HOOK}, headers=who).status_code == 403
    assert count(db_session) == 0
    added = client.post(paths[2][1], json={"url": HOOK}, headers=factory.auth(admin))
    assert added.status_code == 200


def test_delivery_list_filters_and_pages(
    client: flask.testing.FlaskClient, factory: Factory, project: Project
) -> None:
    owner = factory.auth(project.user)
    path = f"/api_3/notification-delivery/list/{base(project)}"
    empty = client.get(path, headers=owner)
    assert empty.json["items"] == []
    assert empty.json["meta"]["order_type"] == "DESC"
    assert client.get(path + "?state=lost", headers=owner).status_code == 400
    assert client.get(path + "?endpoint_id=77", headers=owner).status_code == 404
    assert client.get(path + "?order=url", headers=owner).status_code == 400
