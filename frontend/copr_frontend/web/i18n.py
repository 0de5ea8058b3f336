"""The UI's language: a choice stored in a cookie (the footer's switch), else the best
match of the browser's ``Accept-Language``, else English.

Every string a page shows goes through Flask-Babel (``_()`` in templates and views); the
catalogs are in ``copr_frontend/translations`` (see the README there for extracting and
updating them).
"""

from __future__ import annotations

from pathlib import Path

import flask
from flask_babel import Babel

LANGUAGES = {"en": "English", "cs": "Čeština"}
"""Languages with a complete catalog (English is the source language)."""

DEFAULT_LANGUAGE = "en"
COOKIE = "copr_lang"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

babel = Babel()


def select_locale() -> str:
    chosen = flask.request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return flask.request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def init_app(app: flask.Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"languages": LANGUAGES, "current_language": select_locale()}
