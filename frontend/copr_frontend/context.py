"""Where a request finds its app's settings (stored by ``create_app``).

Views and helpers import :func:`settings` from here, never from :mod:`copr_frontend.app`:
the app module imports every view module to register its routes, so a view that imported
the app back would close a cycle.  Only the CLI, the WSGI entry and tests import the app.
"""

from __future__ import annotations

import flask

from copr_frontend.settings import FrontendSettings

SETTINGS_KEY = "COPR_SETTINGS"
"""The ``app.config`` key of the app's :class:`FrontendSettings` (tests replace it)."""


def install(app: flask.Flask, settings: FrontendSettings) -> None:
    """Make ``settings`` the settings of ``app``'s requests."""
    app.config[SETTINGS_KEY] = settings


def settings() -> FrontendSettings:
    """The settings of the current app."""
    value: FrontendSettings = flask.current_app.config[SETTINGS_KEY]
    return value
