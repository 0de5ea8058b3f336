"""API v3 ``/api-token``: renew the caller's API token (copr-cli ``new-api-token``)."""

from __future__ import annotations

import time

import flask

from copr_frontend import db
from copr_frontend.api import route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.context import settings
from copr_frontend.users.logic import issue_api_token


@route("/api-token", methods=["POST"])
@require_login
def new_api_token() -> flask.Response:
    user = login_required_user()
    token = issue_api_token(user, settings().token_lifetime_days)
    db.session().commit()
    expires = user.api_token_expires_on or 0
    return flask.jsonify(
        {
            "api_login": user.api_login,
            "api_token": token,
            "expiration": time.strftime("%Y-%m-%d", time.gmtime(expires)),
        }
    )
