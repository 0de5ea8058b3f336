"""OpenID Connect logins (authlib): the production way in; local passwords are for the
local stack.

With ``oidc_issuer`` set, the login page offers the provider; its callback finds the user
by the ``preferred_username`` claim (or ``sub`` when there is none) and makes the account
on the first login, as Copr does with its accounts system.
"""

from __future__ import annotations

from typing import Any

import flask
from authlib.integrations.flask_client import OAuth
from sqlalchemy.orm import Session

from copr_frontend.settings import FrontendSettings
from copr_frontend.users.logic import AccountError, create_user, get_user, validate_user_name
from copr_frontend.users.models import User

_EXTENSION = "copr_oidc"


def init_app(app: flask.Flask, settings: FrontendSettings) -> None:
    if not settings.oidc_issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        "provider",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email"},
    )
    app.extensions[_EXTENSION] = oauth


def client() -> Any | None:
    """The provider's client, or None when OIDC is not configured."""
    oauth = flask.current_app.extensions.get(_EXTENSION)
    return None if oauth is None else oauth.provider


def user_from_claims(session: Session, claims: dict[str, Any]) -> User:
    """The account of the person the ID token names, made on the first login."""
    name = str(claims.get("preferred_username") or claims.get("sub") or "")
    validate_user_name(name)
    user = get_user(session, name)
    mail = str(claims.get("email") or "")
    if user is None:
        user = create_user(session, name, mail=mail)
    elif mail and user.mail != mail:
        user.mail = mail
    return user


__all__ = ["AccountError", "client", "init_app", "user_from_claims"]
