"""API tokens (HTTP Basic login:token), their expiry, and web sessions."""

from __future__ import annotations

from flask.testing import FlaskClient

from copr_frontend.testing import Factory, basic_auth
from copr_frontend.users.models import User


def test_auth_check_with_token(client: FlaskClient, factory: Factory) -> None:
    user = factory.user("carol")
    response = client.get("/api_3/auth-check", headers=factory.auth(user))
    assert response.status_code == 200
    assert response.get_json() == {"id": user.id, "name": "carol"}


def test_anonymous_auth_check_is_401(client: FlaskClient) -> None:
    response = client.get("/api_3/auth-check")
    assert response.status_code == 401
    assert "Authorization required" in response.get_json()["error"]


def test_wrong_token_and_login_are_401(client: FlaskClient, factory: Factory) -> None:
    user = factory.user()
    login, token = factory.token(user)
    for headers in (basic_auth(login, token + "x"), basic_auth("nobody", token),
                    basic_auth("", ""), {"Authorization": "Bearer abc"}):  # fmt: skip
        response = client.get("/api_3/auth-check", headers=headers)
        assert response.status_code == 401
        assert response.is_json
        assert response.get_json()["error"]


def test_renewed_token_replaces_the_old_one(client: FlaskClient, factory: Factory) -> None:
    user = factory.user()
    old = factory.token(user)
    new = factory.token(user)
    assert old[0] == new[0]
    assert client.get("/api_3/auth-check", headers=basic_auth(*old)).status_code == 401
    assert client.get("/api_3/auth-check", headers=basic_auth(*new)).status_code == 200


def test_expired_token_says_it_expired(client: FlaskClient, factory: Factory) -> None:
    user = factory.user()
    login, token = factory.token(user)
    stored = factory.session.get(User, user.id)
    assert stored is not None
    stored.api_token_expires_on = 86400 * 365  # 1971-01-01
    factory.session.commit()
    response = client.get("/api_3/auth-check", headers=basic_auth(login, token))
    assert response.status_code == 401
    assert "expired on 1971-01-01" in response.get_json()["error"]


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login/").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_web_login_session_and_logout(client: FlaskClient, factory: Factory) -> None:
    user = factory.user("dave", password="correct-horse")
    assert client.get("/login/").status_code == 200
    token = _csrf(client)
    bad = client.post(
        "/login/", data={"username": "dave", "password": "wrong-horse", "csrf_token": token}
    )
    assert bad.status_code == 401
    assert client.get("/api_3/auth-check").status_code == 401
    # The login form is a form like any other: without its CSRF token it is refused.
    form = {"username": "dave", "password": "correct-horse"}
    assert client.post("/login/", data=form).status_code == 400

    good = client.post("/login/?next=//evil.example/", data={**form, "csrf_token": token})
    assert good.status_code == 303
    assert good.headers["Location"] == "/"
    assert client.get("/api_3/auth-check").get_json() == {"id": user.id, "name": "dave"}

    client.post("/logout/", data={"csrf_token": _csrf(client)})
    assert client.get("/api_3/auth-check").status_code == 401


def test_user_without_password_cannot_log_in(client: FlaskClient, factory: Factory) -> None:
    factory.user("erin")
    response = client.post(
        "/login/", data={"username": "erin", "password": "", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 401


EVIL_NEXT = [
    "//evil.example/",
    "/%09/evil.example",  # a browser drops the tab: //evil.example
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%5Cevil.example",  # a browser reads /\\evil.example as //evil.example
    "%5C%5Cevil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "%20//evil.example",
    "/%00/evil.example",
    "evil.example",
]


def test_login_redirects_only_to_local_paths(client: FlaskClient, factory: Factory) -> None:
    factory.user("mallory", password="correct-horse")
    form = {"username": "mallory", "password": "correct-horse"}
    for target in EVIL_NEXT:
        # Each login starts a new session, and with it a new CSRF token.
        response = client.post(f"/login/?next={target}", data={**form, "csrf_token": _csrf(client)})
        assert response.status_code == 303
        assert (target, response.headers["Location"]) == (target, "/")


def test_login_keeps_a_local_next(client: FlaskClient, factory: Factory) -> None:
    factory.user("trent", password="correct-horse")
    form = {"username": "trent", "password": "correct-horse"}
    form["csrf_token"] = _csrf(client)
    response = client.post("/login/?next=/coprs/trent/proj/%3Fx%3D1", data=form)
    assert response.headers["Location"] == "/coprs/trent/proj/?x=1"
