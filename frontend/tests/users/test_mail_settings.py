"""A user's address and opt-in to build e-mail (``/api_3/user/settings``), and a
project's opt-in (``email_notifications`` of ``project/add``, ``edit`` and ``get``)."""

from __future__ import annotations

import flask
import pytest
from sqlalchemy.orm import Session

from copr_frontend.testing import Factory
from copr_frontend.users.models import User


def test_a_user_opts_in_with_an_address(
    client: flask.testing.FlaskClient, db_session: Session, factory: Factory
) -> None:
    user = factory.user("bob")
    auth = factory.auth(user)
    got = client.get("/api_3/user/settings", headers=auth)
    assert got.json == {"name": "bob", "mail": "", "email_notifications": False}
    body = {"mail": " bob@example.org ", "email_notifications": True}
    changed = client.put("/api_3/user/settings/edit", headers=auth, json=body)
    assert changed.status_code == 200
    assert changed.json == {"name": "bob", "mail": "bob@example.org", "email_notifications": True}
    db_session.expire_all()
    stored = db_session.get(User, user.id)
    assert stored is not None
    assert (stored.mail, stored.email_notifications) == ("bob@example.org", True)
    # Opting out keeps the address; dropping the address while opted in is refused.
    off = client.post(
        "/api_3/user/settings/edit", headers=auth, json={"email_notifications": False}
    )
    assert off.json["mail"] == "bob@example.org"
    assert client.get("/api_3/user/settings").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mail": "bob", "email_notifications": True}, "'bob' is not an e-mail address"),
        ({"mail": "bob@localhost"}, "is not an e-mail address"),
        ({"mail": "bob @example.org"}, "is not an e-mail address"),
        ({"mail": "Bob <bob@example.org>"}, "is not an e-mail address"),
        ({"mail": "a@b..org"}, "is not an e-mail address"),
        ({"mail": "x" * 201}, "too long"),
        ({"email_notifications": True}, "need an e-mail address"),
        ({"mail": "", "email_notifications": True}, "need an e-mail address"),
        ({"email_notifications": "sometimes"}, "email_notifications"),
        ({"mail": ["bob@example.org"]}, "'mail' must be text"),
    ],
)
def test_bad_settings_are_400_and_nothing_is_stored(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    body: dict[str, object],
    message: str,
) -> None:
    user = factory.user()
    answer = client.put("/api_3/user/settings/edit", headers=factory.auth(user), json=body)
    assert answer.status_code == 400
    assert message in answer.json["error"]
    db_session.expire_all()
    stored = db_session.get(User, user.id)
    assert stored is not None
    assert (stored.mail, stored.email_notifications) == ("", False)


def test_a_project_opts_in_through_api_v3(
    client: flask.testing.FlaskClient, factory: Factory
) -> None:
    user = factory.user("carol")
    factory.mock_chroot("fedora-42-x86_64")
    auth = factory.auth(user)
    made = client.post("/api_3/project/add/carol", headers=auth,
                       json={"name": "mailing", "chroots": ["fedora-42-x86_64"],
                             "email_notifications": True})  # fmt: skip
    assert made.status_code == 200, made.json
    assert made.json["email_notifications"] is True
    edited = client.put("/api_3/project/edit/carol/mailing", headers=auth,
                        json={"email_notifications": False})  # fmt: skip
    assert edited.json["email_notifications"] is False
    got = client.get(
        "/api_3/project", query_string={"ownername": "carol", "projectname": "mailing"}
    )
    assert got.json["email_notifications"] is False
    bad = client.put("/api_3/project/edit/carol/mailing", headers=auth,
                     json={"email_notifications": "often"})  # fmt: skip
    assert bad.status_code == 400
    assert "email_notifications" in bad.json["error"]
    assert (
        client.get(
            "/api_3/project", query_string={"ownername": "carol", "projectname": "mailing"}
        ).json["email_notifications"]
        is False
    )
