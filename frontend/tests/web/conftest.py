"""Helpers of the web UI tests: log a test client in, read a page's CSRF token."""

from __future__ import annotations

import re

import flask
import pytest

from copr_frontend.api.auth import SESSION_USER_KEY
from copr_frontend.users.models import User

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(client: flask.testing.FlaskClient, user: User) -> None:
    with client.session_transaction() as session:
        session[SESSION_USER_KEY] = user.id


def csrf_token(client: flask.testing.FlaskClient, path: str = "/login/") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def web_client(app: flask.Flask) -> flask.testing.FlaskClient:
    return app.test_client()
