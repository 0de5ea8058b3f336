"""The front-end packages (CSS design system, charts) served from the npm install.

``make setup`` runs ``npm ci`` in ``frontend/`` from its lock file; only the files named
in :data:`FILES` are served, under ``/static/vendor/<name>``, with a long cache lifetime
(the lock file pins their versions).  Nothing is fetched from elsewhere at run time.  An
installed frontend (the RPM, or the ansible role's virtual environment) has the same files
under :data:`INSTALLED`.
"""

from __future__ import annotations

from pathlib import Path

import flask

from copr_frontend.context import settings

STATIC = Path(__file__).resolve().parent.parent / "static"

FILES = {
    "bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "bootstrap.bundle.min.js": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "chart.umd.js": "chart.js/dist/chart.umd.js",
}
"""Served name → path inside ``node_modules``."""

CHECKOUT = Path(__file__).resolve().parents[2] / "node_modules"
INSTALLED = Path("/usr/share/copr-frontend/node_modules")

assets = flask.Blueprint("assets", __name__)


def node_modules() -> Path:
    """The setting, else a checkout's ``frontend/node_modules``, else the installed copy."""
    configured = settings().web_assets_dir
    if configured is not None:
        return configured
    return CHECKOUT if CHECKOUT.is_dir() else INSTALLED


@assets.route("/static/vendor/<name>")
def vendor(name: str) -> flask.Response:
    if name not in FILES:
        flask.abort(404)
    path = node_modules() / FILES[name]
    if not path.is_file():
        flask.abort(404, f"{FILES[name]} is not installed: run make setup (npm ci)")
    return flask.send_file(path, max_age=7 * 24 * 3600)


@assets.route("/static/<name>")
def own(name: str) -> flask.Response:
    """The UI's own small script and style (live log, bulk selection, chart set-up)."""
    return flask.send_from_directory(STATIC, name, max_age=3600)
