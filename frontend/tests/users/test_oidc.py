"""OpenID Connect logins against the provider on loopback (``conftest.py``): the HTTP flow
a browser goes through, the account made on the first login, and what is refused (a
wrong or replayed state, a wrong nonce, a forged or misdirected ID token, none at all)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copr_frontend.app import create_app
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

from .conftest import OidcProvider

CALLBACK = "http://copr.test/login/oidc/callback/"  # public_url of the test settings
FAILED = "The login at the provider failed"


@pytest.fixture
def oidc_app(settings: FrontendSettings, oidc_provider: OidcProvider) -> Iterator[flask.Flask]:
    application = create_app(
        settings.model_copy(
            update={
                "oidc_issuer": oidc_provider.url,
                "oidc_client_id": oidc_provider.client_id,
                "oidc_client_secret": oidc_provider.client_secret,
                "oidc_name": "Test Accounts",
            }
        )
    )
    yield application
    application.extensions["copr_database"].dispose()


@pytest.fixture
def browser(oidc_app: flask.Flask) -> FlaskClient:
    return oidc_app.test_client()


@pytest.fixture
def person(oidc_provider: OidcProvider) -> dict[str, str]:
    oidc_provider.person = {
        "sub": "f3a1c2d4-0001",
        "preferred_username": "olivia",
        "email": "olivia@example.org",
        "name": "Olivia Example",
    }
    oidc_provider.redirect_uris = [CALLBACK]
    return oidc_provider.person


def at_provider(browser: FlaskClient, provider: OidcProvider, next_page: str = "/") -> str:
    """Start the login on the frontend, let the provider log the person in; the URL the
    provider sends the browser back to."""
    start = browser.get("/login/oidc/?" + urlencode({"next": next_page}))
    assert start.status_code == 302
    location = start.headers["Location"]
    assert location.startswith(f"{provider.url}/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [provider.client_id]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [CALLBACK]
    assert "openid" in query["scope"][0].split()
    assert len(query["state"][0]) >= 16
    assert len(query["nonce"][0]) >= 16
    answer = requests.get(location, allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    back: str = answer.headers["Location"]
    assert back.startswith(CALLBACK + "?")
    return back


def come_back(browser: FlaskClient, url: str):  # type: ignore[no-untyped-def]
    return browser.get(url.removeprefix("http://copr.test"))


def logged_in_as(browser: FlaskClient) -> str | None:
    answer = browser.get("/api_3/auth-check")
    return answer.get_json()["name"] if answer.status_code == 200 else None


def user_count(db_session: Session) -> int:
    db_session.expire_all()
    return int(db_session.scalar(select(func.count(User.id))) or 0)


def test_new_user_logs_in_and_gets_an_account(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], db_session: Session
) -> None:
    page = browser.get("/login/").get_data(as_text=True)
    assert "Log in with Test Accounts" in page
    assert user_count(db_session) == 0

    done = come_back(browser, at_provider(browser, oidc_provider, "/coprs/olivia/"))
    assert done.status_code == 303
    assert done.headers["Location"] == "/coprs/olivia/"
    assert logged_in_as(browser) == "olivia"
    user = db_session.scalar(select(User).where(User.name == "olivia"))
    assert user is not None
    assert user.mail == "olivia@example.org"
    assert user.password_hash is None  # no local password: OIDC is the only way in
    assert browser.get("/api/").status_code == 200

    # The next login finds the same account and follows a changed address.
    browser.get("/logout/")
    assert logged_in_as(browser) is None
    person["email"] = "olivia@new.example.org"
    assert come_back(browser, at_provider(browser, oidc_provider)).status_code == 303
    assert logged_in_as(browser) == "olivia"
    assert user_count(db_session) == 1
    db_session.refresh(user)
    assert user.mail == "olivia@new.example.org"


def test_profile_from_userinfo_when_the_id_token_has_only_the_subject(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str]
) -> None:
    oidc_provider.profile_in_id_token = False
    assert come_back(browser, at_provider(browser, oidc_provider)).status_code == 303
    assert logged_in_as(browser) == "olivia"


def test_existing_user_is_logged_in(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], factory: Factory
) -> None:
    user = factory.user("olivia")
    assert come_back(browser, at_provider(browser, oidc_provider)).status_code == 303
    assert browser.get("/api_3/auth-check").get_json() == {"id": user.id, "name": "olivia"}


def refused(browser: FlaskClient, url: str, db_session: Session) -> str:
    answer = come_back(browser, url)
    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert logged_in_as(browser) is None
    assert user_count(db_session) == 0
    return answer.get_data(as_text=True)


def test_wrong_state_is_refused(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], db_session: Session
) -> None:
    back = at_provider(browser, oidc_provider)
    query = parse_qs(urlsplit(back).query)
    forged = f"{CALLBACK}?" + urlencode({"code": query["code"][0], "state": "x" * 30})
    assert FAILED in refused(browser, forged, db_session)
    # Nor is a callback without any state, or one the browser never started.
    no_state = f"{CALLBACK}?" + urlencode({"code": query["code"][0]})
    assert FAILED in refused(browser, no_state, db_session)
    stranger = browser.application.test_client()
    assert FAILED in refused(stranger, back, db_session)
    # The refusals spent no code at the provider: the state is checked first.
    assert oidc_provider.token_requests == 0


def test_state_works_once(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], db_session: Session
) -> None:
    back = at_provider(browser, oidc_provider)
    assert come_back(browser, back).status_code == 303
    browser.get("/logout/")
    answer = come_back(browser, back)
    assert answer.status_code == 403
    assert logged_in_as(browser) is None


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("nonce", "Invalid claim: &#39;nonce&#39;"),
        ("signature", "bad_signature"),
        ("audience", "&#39;azp&#39;"),  # issued to another client, and not for us
        ("no_id_token", "no ID token"),
        ("userinfo_sub", "another subject"),
    ],
)
def test_untrustworthy_answer_is_refused(
    browser: FlaskClient,
    oidc_provider: OidcProvider,
    person: dict[str, str],
    db_session: Session,
    tamper: str,
    reason: str,
) -> None:
    oidc_provider.tamper = {tamper}
    # userinfo is only asked when the ID token lacks the profile.
    oidc_provider.profile_in_id_token = tamper != "userinfo_sub"
    page = refused(browser, at_provider(browser, oidc_provider), db_session)
    assert FAILED in page
    assert reason in page


def test_error_from_the_provider_is_refused(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], db_session: Session
) -> None:
    back = at_provider(browser, oidc_provider)
    state = parse_qs(urlsplit(back).query)["state"][0]
    denied = f"{CALLBACK}?" + urlencode({"error": "access_denied", "state": state})
    assert "access_denied" in refused(browser, denied, db_session)


def test_unusable_user_name_is_refused(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str], db_session: Session
) -> None:
    person["preferred_username"] = "@admins"
    page = refused(browser, at_provider(browser, oidc_provider), db_session)
    assert "group names" in page


def test_login_goes_only_to_pages_of_this_site(
    browser: FlaskClient, oidc_provider: OidcProvider, person: dict[str, str]
) -> None:
    done = come_back(browser, at_provider(browser, oidc_provider, "//evil.example/"))
    assert done.status_code == 303
    assert done.headers["Location"] == "/"


def test_without_a_provider_there_is_no_oidc_login(client: FlaskClient) -> None:
    assert "Log in with" not in client.get("/login/").get_data(as_text=True)
    assert client.get("/login/oidc/").status_code == 404
    assert client.get("/login/oidc/callback/?code=x&state=y").status_code == 404
