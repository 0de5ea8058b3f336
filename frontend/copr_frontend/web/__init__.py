"""The web UI's shared machinery: what every page gets, whichever domain it belongs to.

Pages live beside the API of their domain (``<domain>/views.py``) and call the same
logic; this package gives them the layout's helpers (:mod:`.render`), the project URL
scheme with its ``/g/<group>/`` twins and the login/permission checks
(:mod:`.routing`), form errors taken from the API's own validation (:mod:`.forms`),
the language (:mod:`.i18n`), and the front-end packages (:mod:`.assets`).

:func:`init_web` wires it into an app; ``copr_frontend.app.WEB_MODULES`` lists the view
modules whose blueprints it registers.
"""

from __future__ import annotations

import importlib

import flask
from flask_wtf.csrf import CSRFProtect

from copr_frontend.web import assets, i18n, render, routing

csrf = CSRFProtect()


def init_web(app: flask.Flask, view_modules: list[str], csrf_exempt: list[flask.Blueprint]) -> None:
    """Register the web UI on ``app``: CSRF on every form, languages, pages, error pages.

    ``csrf_exempt`` are blueprints whose POSTs are not forms of ours (API v3, the backend
    API, webhooks): they authenticate each request themselves.
    """
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)  # behind proxies Referer may go
    csrf.init_app(app)
    for blueprint in csrf_exempt:
        csrf.exempt(blueprint)
    i18n.init_app(app)
    render.init_app(app)
    routing.init_app(app)
    app.register_blueprint(assets.assets)
    for module in view_modules:
        blueprint = importlib.import_module(module).blueprint
        app.register_blueprint(blueprint)
