"""The application factory: ``create_app(settings)`` builds a configured Flask app.

Nothing is built at import time; every app has its own engine, so tests and tools may
create as many as they like.
"""

from __future__ import annotations

import importlib
from typing import Any

import flask

from copr_common.log import setup_logging
from copr_frontend import context, db
from copr_frontend.api import json_limits
from copr_frontend.settings import FrontendSettings, load_frontend_settings

SETTINGS_KEY = context.SETTINGS_KEY
"""Kept here for tests that replace an app's settings."""

# Modules that register routes on the API v3 blueprint (each defines routes on
# ``copr_frontend.api.api_v3`` at import).  Add a resource by adding its module here.
API_MODULES = [
    "copr_frontend.users.api",
    "copr_frontend.users.token_api",
    "copr_frontend.projects.api",
    "copr_frontend.projects.chroot_api",
    "copr_frontend.permissions.api",
    "copr_frontend.mockchroots.api",
    "copr_frontend.builds.api",
    "copr_frontend.builds.rpm_upload_api",
    "copr_frontend.builds.chroot_api",
    "copr_frontend.builds.monitor_api",
    "copr_frontend.packages.api",
    "copr_frontend.downloads.api",
    "copr_frontend.webhooks.api",
    "copr_frontend.notifications.api",
    "copr_frontend.quotas.api",
    "copr_frontend.api.openapi",
]

# Modules of the web UI, each with a ``blueprint`` of pages (see ``copr_frontend.web``).
WEB_MODULES = [
    "copr_frontend.web.home",
    "copr_frontend.users.views",
    "copr_frontend.projects.views",
    "copr_frontend.projects.settings_views",
    "copr_frontend.permissions.views",
    "copr_frontend.builds.views",
    "copr_frontend.builds.submit_views",
    "copr_frontend.packages.views",
    "copr_frontend.status.views",
]


class CoprFlask(flask.Flask):
    """Flask whose views run as retried units of work (:func:`db.run_unit_of_work`)."""

    def dispatch_request(self) -> Any:
        return db.run_unit_of_work(super().dispatch_request)


def create_app(settings: FrontendSettings | None = None) -> flask.Flask:
    """A Flask app for ``settings`` (read from the environment when not given)."""
    if settings is None:
        settings = load_frontend_settings()
    # Importing every model makes the mapper registry complete before the first query.
    importlib.import_module("copr_frontend.models")

    app = CoprFlask("copr_frontend")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_size + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    context.install(app, settings)
    json_limits.install(app, settings.max_json_size)
    database = db.Database(settings.database_url)
    db.init_app(app, database)
    from copr_frontend.builds.uploads import install_cleanup

    install_cleanup(database.sessionmaker, settings.upload_dir)
    if settings.redis_url:
        from copr_frontend import notify

        notify.install(database.sessionmaker, settings.redis_url)

    from copr_frontend.api import api_v3, register_api
    from copr_frontend.backend_api import views as backend_views
    from copr_frontend.builds.uploads import uploads
    from copr_frontend.repos.views import repos
    from copr_frontend.users import oidc
    from copr_frontend.web import init_web
    from copr_frontend.webhooks import views as webhook_views

    for module in API_MODULES:
        importlib.import_module(module)
    register_api(app, api_v3)
    # Its routes join the backend API blueprint before that is registered.
    importlib.import_module("copr_frontend.notifications.backend_api")
    backend_views.register(app)
    webhook_views.register(app)
    app.register_blueprint(repos)
    app.register_blueprint(uploads)
    init_web(
        app,
        WEB_MODULES,
        # Forges post webhooks without a session: the secret in the URL authenticates.
        csrf_exempt=[api_v3, backend_views.backend_api, uploads, webhook_views.webhooks],
    )
    oidc.init_app(app, settings)
    return app


def configure_logging(settings: FrontendSettings) -> None:
    setup_logging("copr_frontend", settings.log_level)
