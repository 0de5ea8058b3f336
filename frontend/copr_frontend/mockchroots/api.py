"""API v3 ``/mock-chroots/list``: the active chroots as ``{name: comment}``."""

from __future__ import annotations

import flask

from copr_frontend import db
from copr_frontend.api import route
from copr_frontend.mockchroots.logic import list_chroots


@route("/mock-chroots/list")
def mock_chroot_list() -> flask.Response:
    chroots = list_chroots(db.session(), active_only=True)
    return flask.jsonify({c.name: c.comment for c in chroots})
