"""Web sessions: log in with a user name and password, log out.

The web UI builds on these; they answer plain HTML/text so that they work before it
exists.
"""

from __future__ import annotations

from html import escape

import flask

from copr_frontend import db
from copr_frontend.api.auth import SESSION_USER_KEY
from copr_frontend.redirects import local_redirect_target
from copr_frontend.users.logic import authenticate_password

accounts = flask.Blueprint("accounts", __name__)

_LOGIN_FORM = """<!doctype html>
<title>Log in - Copr</title>
<form method="post" action="{action}">
<p>{message}</p>
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form>
"""


@accounts.route("/login/", methods=["GET", "POST"], strict_slashes=False)
def login() -> flask.Response | tuple[str, int]:
    action = flask.url_for("accounts.login")
    if flask.request.method == "GET":
        return _LOGIN_FORM.format(action=action, message=""), 200
    name = flask.request.form.get("username", "")
    password = flask.request.form.get("password", "")
    user = authenticate_password(db.session(), name, password)
    if user is None:
        message = escape("Wrong user name or password.")
        return _LOGIN_FORM.format(action=action, message=message), 401
    flask.session.clear()
    flask.session[SESSION_USER_KEY] = user.id
    flask.session.permanent = True
    # Only local paths: anything else would make the login page an open redirect.
    target = local_redirect_target(flask.request.args.get("next"))
    return flask.redirect(target, code=303)  # type: ignore[return-value]


@accounts.route("/logout/", methods=["GET", "POST"], strict_slashes=False)
def logout() -> flask.Response:
    flask.session.clear()
    return flask.redirect("/", code=303)  # type: ignore[return-value]
