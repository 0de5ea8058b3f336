"""API v3 routes about the caller: ``auth-check``."""

from __future__ import annotations

import flask

from copr_frontend.api import route
from copr_frontend.api.auth import login_required_user


@route("/auth-check", methods=["GET"])
def auth_check() -> flask.Response:
    user = login_required_user()
    return flask.jsonify({"id": user.id, "name": user.name})
