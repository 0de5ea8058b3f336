"""OpenID Connect logins (authlib): the production way in; local passwords are for the
local stack.

With ``oidc_issuer`` set, the login page offers the provider (authorization code flow;
authlib keeps the ``state`` and ``nonce`` in the session and checks both on the way back).
The callback accepts only a verified ID token (signature from the provider's JWKS,
issuer, audience, expiry, nonce), completes its claims from ``/userinfo`` when the token
carries no ``preferred_username``, finds the user by that name (or ``sub`` when there
is none) and makes the account on the first login, as Copr does with its accounts system.
"""

from __future__ import annotations

from typing import Any

import flask
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from copr_frontend.settings import FrontendSettings
from copr_frontend.users.addresses import AddressError, check_address
from copr_frontend.users.logic import AccountError, create_user, get_user, validate_user_name
from copr_frontend.users.models import User

_EXTENSION = "copr_oidc"


def init_app(app: flask.Flask, settings: FrontendSettings) -> None:
    if not settings.oidc_issuer:
        return
    oauth = OAuth(app)
    oauth.register(  # type: ignore[no-untyped-call]  # authlib's stubs leave it untyped
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


LOGIN_ERRORS = (AuthlibBaseError, JoseError, requests.RequestException)
"""What a failed login at the provider raises: a wrong or replayed state, an error the
provider redirected back with, a refused code, an ID token that does not verify, a
provider that cannot be reached."""


class LoginError(Exception):
    """The provider's answer cannot log anyone in; the message says why."""


def verified_claims(provider: Any) -> dict[str, Any]:
    """The claims of the person the provider logged in, from the callback's request.

    Raises one of :data:`LOGIN_ERRORS` or :class:`LoginError`.
    """
    token = provider.authorize_access_token()
    # authlib verifies an ID token when there is one; a plain OAuth answer without it
    # would let any access token log in, so it is refused.
    id_claims = token.get("userinfo")
    if not id_claims:
        raise LoginError("the provider sent no ID token")
    claims = dict(id_claims)
    if not claims.get("preferred_username"):
        extra = dict(provider.userinfo(token=token))
        if extra.get("sub") != claims.get("sub"):
            raise LoginError("the provider's userinfo is about another subject than its ID token")
        claims = {**extra, **claims}
    return claims


def user_from_claims(session: Session, claims: dict[str, Any]) -> User:
    """The account of the person the ID token names, made on the first login."""
    name = str(claims.get("preferred_username") or claims.get("sub") or "")
    validate_user_name(name)
    user = get_user(session, name)
    mail = str(claims.get("email") or "")
    try:
        mail = check_address(mail) if mail else ""
    except AddressError:
        mail = ""  # the provider's to fix; the login itself is fine
    if user is None:
        user = create_user(session, name, mail=mail)
    elif mail and user.mail != mail:
        user.mail = mail
    return user


__all__ = [
    "LOGIN_ERRORS",
    "AccountError",
    "LoginError",
    "client",
    "init_app",
    "user_from_claims",
    "verified_claims",
]
