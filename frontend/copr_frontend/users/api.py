"""API v3 routes about the caller: ``auth-check`` and their e-mail settings.

``GET /user/settings``  ``{"name", "mail", "email_notifications"}``
``PUT /user/settings/edit``  ``{"mail"?, "email_notifications"?}``: change the address (empty:
    none) and the opt-in to an e-mail when a build they submitted ends — sent where the
    build's project opts in too (``email_notifications`` of ``project/add``/``edit``)
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, route
from copr_frontend.api.auth import login_required_user
from copr_frontend.api.params import json_body
from copr_frontend.users.addresses import MAX_ADDRESS
from copr_frontend.users.logic import AccountError, set_mail_settings
from copr_frontend.users.models import User
from copr_frontend.validation import to_bool, to_text


def user_settings_to_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "mail": user.mail, "email_notifications": user.email_notifications}


@route("/auth-check", methods=["GET"])
def auth_check() -> flask.Response:
    user = login_required_user()
    return flask.jsonify({"id": user.id, "name": user.name})


@route("/user/settings", methods=["GET"])
def get_settings() -> flask.Response:
    return flask.jsonify(user_settings_to_json(login_required_user()))


@route("/user/settings/edit", methods=["PUT"])
def edit_settings() -> flask.Response:
    user = login_required_user()
    data = json_body()
    try:
        set_mail_settings(
            user,
            mail=to_text(data.get("mail"), "mail", max_length=MAX_ADDRESS),
            email_notifications=to_bool(data.get("email_notifications"), "email_notifications"),
        )
    except AccountError as error:
        raise BadRequest(str(error)) from None
    db.session().commit()
    return flask.jsonify(user_settings_to_json(user))
