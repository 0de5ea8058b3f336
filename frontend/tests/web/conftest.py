"""Helpers of the web UI tests: log a test client in, read a page's CSRF token, count the
SQL statements a page runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask
import pytest
from sqlalchemy import event

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


@contextmanager
def counting_queries(app: flask.Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["copr_database"].engine

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)


@pytest.fixture
def web_client(app: flask.Flask) -> flask.testing.FlaskClient:
    return app.test_client()
