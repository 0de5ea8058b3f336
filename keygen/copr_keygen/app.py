"""The keygen HTTP service: ``create_app(settings)`` and its access control.

Every route but ``/ping`` needs ``Authorization: Bearer <secret>``; with
``allowed_networks`` set, callers from anywhere else are refused before the secret is
even looked at.  Errors are JSON ``{"error": "..."}`` with a fitting status code.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from copr_keygen import context
from copr_keygen.gpg import KeyRing
from copr_keygen.keys import KeyService
from copr_keygen.settings import KeygenSettings
from copr_keygen.views import bp

__all__ = ["create_app"]

OPEN_ENDPOINTS = frozenset({"keygen.ping"})


def create_app(settings: KeygenSettings) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_sign_bytes
    keyring = KeyRing(settings.gnupg_home, settings.gpg_binary, settings.gpg_timeout)
    keyring.prepare()
    context.install(app, settings, KeyService(keyring, settings.lock_dir, settings.lock_timeout))
    app.register_blueprint(bp)
    app.before_request(_check_access)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _check_access() -> Response | tuple[Response, int] | None:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    conf = context.settings()
    if conf.allowed_networks:
        try:
            address = ip_address(request.remote_addr or "")
        except ValueError:
            address = None
        if address is None or not any(address in net for net in conf.allowed_networks):
            current_app.logger.warning("refused %s: address not allowed", request.remote_addr)
            return jsonify(error=f"address {request.remote_addr} is not allowed"), 403
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = conf.secret.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        current_app.logger.warning("refused %s: missing or wrong secret", request.remote_addr)
        response = jsonify(error="missing or wrong secret: send Authorization: Bearer <secret>")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="copr-keygen"'
        return response
    return None


def _http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    message = error.description or error.name
    if status == 413:
        message = f"the request body is larger than {context.settings().max_sign_bytes} bytes"
    return jsonify(error=message), status


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return jsonify(error=f"internal error: {type(error).__name__}"), 500
