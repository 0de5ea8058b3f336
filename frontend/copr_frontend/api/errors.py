"""API v3 errors: exceptions that become ``{"error": "..."}`` with the right status.

The handlers are registered on the app, not the blueprint, because a request to an
unknown ``/api_3/...`` URL never reaches the blueprint, and it must get JSON too.
"""

from __future__ import annotations

import logging
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client caused or must know about; ``code`` is the HTTP status."""

    code = 400

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ApiError):
    """The request is malformed or its values are invalid (400)."""

    code = 400


class AuthError(ApiError):
    """The credentials are missing or wrong (401)."""

    code = 401


class AccessRestricted(ApiError):
    """The user may not do this (403)."""

    code = 403


class ObjectNotFound(ApiError):
    """The named object does not exist (404)."""

    code = 404


class Conflict(ApiError):
    """The request clashes with the current state, e.g. a name already taken (409)."""

    code = 409


def error_response(message: str, code: int) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = code
    return response


def _wants_json(prefixes: tuple[str, ...]) -> bool:
    path = flask.request.path
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def register_error_handlers(app: flask.Flask, *prefixes: str) -> None:
    """JSON errors for every request under ``prefixes`` (and for every ApiError)."""
    all_prefixes = tuple(prefixes) + tuple(app.config.get("COPR_JSON_ERROR_PREFIXES", ()))
    app.config["COPR_JSON_ERROR_PREFIXES"] = all_prefixes

    def _html_renderer() -> Any:
        """The web UI's error pages, for requests that are not API calls (if installed)."""
        if _wants_json(app.config["COPR_JSON_ERROR_PREFIXES"]):
            return None
        return app.extensions.get("copr_html_errors")

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Any:
        renderer = _html_renderer()
        if renderer is not None:
            return renderer(error)
        return error_response(error.message, error.code)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if not _wants_json(app.config["COPR_JSON_ERROR_PREFIXES"]):
            renderer = _html_renderer()
            # An abort() carrying a ready response (a redirect to the login) is kept.
            if renderer is not None and error.response is None and (error.code or 500) >= 400:
                return renderer(error)
            return error
        code = error.code or 500
        if code == 404:
            message = f"Not found: {flask.request.path} is not an API route"
        elif code == 405:
            message = f"Method {flask.request.method} is not allowed on {flask.request.path}"
        elif code == 413:
            message = "Request too large: the upload exceeds the size limit"
        else:
            message = error.description or error.name
        response = error_response(message, code)
        valid_methods = getattr(error, "valid_methods", None)
        if code == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> flask.Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", flask.request.method, flask.request.path)
        if not _wants_json(app.config["COPR_JSON_ERROR_PREFIXES"]):
            return "Internal server error\n", 500
        return error_response(f"Internal server error: {type(error).__name__}", 500)
