"""The home page, the language switch and the RSS feed of new projects."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import flask
from flask_babel import gettext

from copr_frontend import db
from copr_frontend.builds.logic import list_builds
from copr_frontend.context import settings
from copr_frontend.projects.logic import list_projects
from copr_frontend.users.views import safe_next_target
from copr_frontend.web import i18n
from copr_frontend.web.routing import purl

blueprint = flask.Blueprint("home", __name__)

HOME_ROWS = 10
RSS_ITEMS = 30


@blueprint.route("/")
def index() -> Any:
    session = db.session()
    builds, _next = list_builds(session, limit=HOME_ROWS)
    projects, _more = list_projects(session, limit=HOME_ROWS)
    return flask.render_template("home.html", builds=builds, projects=projects)


@blueprint.route("/language/<code>/")
def set_language(code: str) -> Any:
    if code not in i18n.LANGUAGES:
        flask.abort(404, gettext("No such language."))
    response = flask.redirect(safe_next_target(flask.request.args.get("next")), code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@blueprint.route("/rss/")
def rss() -> Any:
    projects, _more = list_projects(db.session(), limit=RSS_ITEMS)
    base = settings().public_url
    body = flask.render_template(
        "rss.xml",
        projects=projects,
        base=base,
        links={p.id: base + purl("projects.overview", p) for p in projects},
        dates={p.id: formatdate(p.created_on, usegmt=True) for p in projects},
    )
    return flask.Response(body, mimetype="application/rss+xml")
