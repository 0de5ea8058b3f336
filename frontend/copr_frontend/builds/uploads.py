"""Uploaded sources, served back at ``/tmp/<dir>/<file>`` for the builder to download.

The upload route (``/api_3/build/create/upload``) and the web UI's upload form store
each file with :func:`stored_upload` under a fresh random directory of ``upload_dir``;
only names of that shape are served.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from copr_common.enums import BuildSourceEnum
from copr_frontend.api.errors import ApiError, BadRequest
from copr_frontend.app import settings
from copr_frontend.settings import FrontendSettings

UPLOAD_SUFFIXES = (".src.rpm", ".spec")
RPM_MAGIC = b"\xed\xab\xee\xdb"
_CHUNK = 1024 * 1024

uploads = flask.Blueprint("uploads", __name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@uploads.route("/tmp/<token>/<filename>")  # noqa: S108 - a URL, not a file
def uploaded_file(token: str, filename: str) -> flask.Response:
    if not _TOKEN.match(token):
        flask.abort(404)
    return flask.send_from_directory(settings().upload_dir.absolute() / token, filename)


def store_upload(upload: FileStorage, upload_dir: Path, max_size: int) -> tuple[str, str]:
    """Save an uploaded ``.src.rpm``/``.spec`` under a fresh random dir of ``upload_dir``:
    (dir name, file name).  A file of another kind, an empty one, a ``.src.rpm`` that is
    not an RPM or one over ``max_size`` bytes is refused and nothing is left behind."""
    name = secure_filename(upload.filename or "")
    if not name.endswith(UPLOAD_SUFFIXES) or name in UPLOAD_SUFFIXES:
        raise BadRequest(
            f"File {upload.filename!r} is not accepted: upload a .src.rpm or a .spec file"
        )
    token = secrets.token_hex(16)
    directory = upload_dir.absolute() / token
    directory.mkdir(parents=True, mode=0o750)
    target = directory / name
    size = 0
    try:
        with target.open("xb") as out:
            first = b""
            while chunk := upload.stream.read(_CHUNK):
                if not first:
                    first = chunk[:4]
                size += len(chunk)
                if size > max_size:
                    raise ApiError(f"The upload is larger than the limit of {max_size} bytes", 413)
                out.write(chunk)
        if size == 0:
            raise BadRequest(f"The uploaded file {name!r} is empty")
        if name.endswith(".src.rpm") and first != RPM_MAGIC:
            raise BadRequest(f"The uploaded file {name!r} is not an RPM package")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return token, name


@contextmanager
def stored_upload(
    upload: FileStorage, config: FrontendSettings
) -> Iterator[tuple[BuildSourceEnum, dict[str, Any]]]:
    """Store ``upload`` and give the build source that points the builder at it; the file
    is removed again when the block fails (the build that would fetch it was not made)."""
    token, name = store_upload(upload, config.upload_dir, config.max_upload_size)
    try:
        url = f"{config.public_url}/tmp/{token}/{name}"  # noqa: S108 - a URL, not a file
        yield BuildSourceEnum.upload, {"url": url, "pkg": name, "tmp": token}
    except BaseException:
        shutil.rmtree(config.upload_dir.absolute() / token, ignore_errors=True)
        raise
