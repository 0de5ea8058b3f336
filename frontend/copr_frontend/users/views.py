"""Web sessions and the API token page: ``/login/`` (password or OpenID Connect),
``/logout/`` and ``/api/`` (with the user's e-mail settings, ``/api/mail/``).
"""

from __future__ import annotations

import time
from typing import Any

import flask
from flask_babel import gettext

from copr_frontend import db
from copr_frontend.api.auth import SESSION_USER_KEY
from copr_frontend.api.errors import BadRequest
from copr_frontend.context import settings
from copr_frontend.redirects import local_redirect_target
from copr_frontend.users import oidc
from copr_frontend.users.addresses import MAX_ADDRESS
from copr_frontend.users.logic import (
    AccountError,
    authenticate_password,
    issue_api_token,
    set_mail_settings,
)
from copr_frontend.users.models import User
from copr_frontend.validation import to_text
from copr_frontend.web.forms import FormErrors, collecting, render_form
from copr_frontend.web.routing import login_required

accounts = flask.Blueprint("accounts", __name__)
blueprint = accounts


def safe_next_target(target: str | None) -> str:
    """Where to go after logging in: only a path of this site, never another host (an
    open redirect otherwise).
    """
    return local_redirect_target(target)


def _start_session(user: User) -> None:
    flask.session.clear()
    flask.session[SESSION_USER_KEY] = user.id
    flask.session.permanent = True


@accounts.route("/login/", methods=["GET", "POST"], strict_slashes=False)
def login() -> Any:
    target = safe_next_target(flask.request.args.get("next"))
    error = ""
    status = 200
    if flask.request.method == "POST":
        name = flask.request.form.get("username", "")
        password = flask.request.form.get("password", "")
        user = authenticate_password(db.session(), name, password)
        if user is not None:
            _start_session(user)
            return flask.redirect(target, code=303)
        error = gettext("Wrong user name or password.")
        status = 401
    page = flask.render_template(
        "users/login.html",
        error=error,
        next=target,
        oidc_name=settings().oidc_name if oidc.client() is not None else None,
        username=flask.request.form.get("username", ""),
    )
    return page, status


@accounts.route("/login/oidc/")
def login_oidc() -> Any:
    provider = oidc.client()
    if provider is None:
        flask.abort(404)
    flask.session["login_next"] = safe_next_target(flask.request.args.get("next"))
    # From public_url, not the request's host: behind a proxy that is an inner name the
    # provider would not know (the redirect URI must match the registered one exactly).
    callback = settings().public_url + flask.url_for("accounts.oidc_callback")
    return provider.authorize_redirect(callback)


@accounts.route("/login/oidc/callback/")
def oidc_callback() -> Any:
    provider = oidc.client()
    if provider is None:
        flask.abort(404)
    try:
        claims = oidc.verified_claims(provider)
    except (*oidc.LOGIN_ERRORS, oidc.LoginError) as error:
        flask.abort(403, gettext("The login at the provider failed: %(error)s", error=error))
    session = db.session()
    try:
        user = oidc.user_from_claims(session, claims)
    except AccountError as error:
        session.rollback()
        flask.abort(403, str(error))
    session.commit()
    target = safe_next_target(flask.session.pop("login_next", "/"))
    _start_session(user)
    return flask.redirect(target, code=303)


@accounts.route("/logout/", methods=["GET", "POST"], strict_slashes=False)
def logout() -> Any:
    flask.session.clear()
    return flask.redirect("/", code=303)


def copr_cli_snippet(user: User, token: str | None) -> str:
    return (
        "[copr-cli]\n"
        f"login = {user.api_login or ''}\n"
        f"username = {user.name}\n"
        f"token = {token or '<renew the token to see it>'}\n"
        f"copr_url = {settings().public_url}\n"
        + ("encrypted = False\n" if settings().public_url.startswith("http://") else "")
    )


def _api_page_context(user: User, token: str | None) -> dict[str, Any]:
    expires = user.api_token_expires_on
    return {
        "user": user,
        "token": token,
        "snippet": copr_cli_snippet(user, token),
        "expires": time.strftime("%Y-%m-%d", time.gmtime(expires)) if expires else None,
        "lifetime": settings().token_lifetime_days,
    }


@accounts.route("/api/", methods=["GET"])
def api_page() -> Any:
    user = login_required()
    token = flask.session.pop("new_api_token", None)
    return flask.render_template("users/api.html", errors=FormErrors(), values=None,
                                 **_api_page_context(user, token))  # fmt: skip


@accounts.route("/api/mail/", methods=["POST"])
def mail_settings() -> Any:
    """The user's address and opt-in to build e-mail (as ``/api_3/user/settings/edit``)."""
    user = login_required()
    errors = FormErrors()
    form = flask.request.form
    with collecting(errors, ("mail",)):
        try:
            set_mail_settings(
                user,
                mail=to_text(form.get("mail", ""), "mail", max_length=MAX_ADDRESS),
                email_notifications="on" in form.getlist("email_notifications"),
            )
        except AccountError as error:
            raise BadRequest(f"Field 'mail': {error}") from None
        db.session().commit()
        flask.flash(gettext("Your e-mail settings were saved."))
        return flask.redirect(flask.url_for("accounts.api_page"), code=303)
    return render_form("users/api.html", errors, **_api_page_context(user, None))


@accounts.route("/api/new_token/", methods=["POST"])
def renew_api_token() -> Any:
    user = login_required()
    token = issue_api_token(user, settings().token_lifetime_days)
    db.session().commit()
    # Shown once on the next page; only its hash is stored.
    flask.session["new_api_token"] = token
    flask.flash(gettext("A new API token was generated; the old one no longer works."))
    return flask.redirect(flask.url_for("accounts.api_page"), code=303)
