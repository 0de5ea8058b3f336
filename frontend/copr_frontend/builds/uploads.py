"""Uploaded sources, served back at ``/tmp/<dir>/<file>`` for the builder to download.

The upload route (``/api_3/build/create/upload``) stores each file under a fresh random
directory of ``upload_dir``; only names of that shape are served.
"""

from __future__ import annotations

import re

import flask

from copr_frontend.app import settings

uploads = flask.Blueprint("uploads", __name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@uploads.route("/tmp/<token>/<filename>")  # noqa: S108 - a URL, not a file
def uploaded_file(token: str, filename: str) -> flask.Response:
    if not _TOKEN.match(token):
        flask.abort(404)
    return flask.send_from_directory(settings().upload_dir.absolute() / token, filename)
