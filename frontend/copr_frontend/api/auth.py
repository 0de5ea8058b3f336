"""Who is calling the API: HTTP Basic ``login:token`` as copr-cli sends it.

A browser session (the web UI's login) is accepted as well, so the UI may call the API.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import flask

from copr_frontend import db
from copr_frontend.api.errors import AuthError
from copr_frontend.users.logic import TokenError, authenticate_token
from copr_frontend.users.models import User

SESSION_USER_KEY = "user_id"
_UNSET = object()

P = ParamSpec("P")
R = TypeVar("R")


def current_user() -> User | None:
    """The authenticated user, or None for an anonymous call.

    Bad credentials are an error (401), never silently anonymous: a client that sent a
    token means to act as someone.
    """
    cached = flask.g.get("_copr_user", _UNSET)
    if cached is not _UNSET:
        # flask.g holds Any; only this function stores _copr_user, a User or None.
        return cached  # type: ignore[no-any-return]
    user: User | None = None
    auth = flask.request.authorization
    if auth is not None and auth.type == "basic":
        try:
            user = authenticate_token(db.session(), auth.username or "", auth.password or "")
        except TokenError as error:
            raise AuthError(str(error)) from None
    elif auth is not None:
        raise AuthError(f"Unsupported authorization type {auth.type!r}: use HTTP Basic")
    else:
        user_id = flask.session.get(SESSION_USER_KEY)
        if user_id is not None:
            user = db.session().get(User, user_id)
    flask.g._copr_user = user
    return user


def login_required_user() -> User:
    """The authenticated user; 401 when the call is anonymous."""
    user = current_user()
    if user is None:
        raise AuthError(
            "Authorization required: send your API login and token (HTTP Basic), "
            "e.g. through copr-cli's config"
        )
    return user


def require_login(view: Callable[P, R]) -> Callable[P, R]:
    """Decorator: the view runs only for an authenticated user (401 otherwise)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        login_required_user()
        return view(*args, **kwargs)

    return wrapper
