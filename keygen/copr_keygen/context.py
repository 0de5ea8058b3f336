"""Where a request finds the app's settings and key service (set by ``create_app``)."""

from __future__ import annotations

from flask import Flask, current_app

from copr_keygen.keys import KeyService
from copr_keygen.settings import KeygenSettings

_SERVICE = "copr_keygen.keys"
_SETTINGS = "copr_keygen.settings"


def install(app: Flask, settings: KeygenSettings, service: KeyService) -> None:
    app.extensions[_SETTINGS] = settings
    app.extensions[_SERVICE] = service


def key_service() -> KeyService:
    service: KeyService = current_app.extensions[_SERVICE]
    return service


def settings() -> KeygenSettings:
    value: KeygenSettings = current_app.extensions[_SETTINGS]
    return value
