"""Uploaded sources: served back at ``/tmp/<dir>/<file>`` for the builder to download,
and removed once no build needs them.

The upload routes (``/api_3/build/create/upload`` and ``rpm-upload``) and the web UI's
upload form store each file with :func:`store_upload` (sources through
:func:`stored_upload`) under a fresh random directory of ``upload_dir``; only names of
that shape are served.  The builder fetches
the file during the source build; from there on the SRPM lives in the results tree and
dist-git.  So an upload is removed when its build's source phase is over for good —
imported (source ``succeeded``), failed before or during the import, canceled — and
when the build (or its project) is deleted.  Removal happens after the commit that
made it so: a rolled-back transaction (a retried request) keeps the file.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from copr_common.enums import FINISHED_STATES, BuildSourceEnum
from copr_frontend.api.errors import ApiError, BadRequest
from copr_frontend.builds.models import Build
from copr_frontend.context import settings
from copr_frontend.settings import FrontendSettings

log = logging.getLogger(__name__)

uploads = flask.Blueprint("uploads", __name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_DONE_KEY = "copr_uploads_done"

# Why a build (or package) published from an uploaded RPM cannot be built again.
UNREPEATABLE = (
    "{name} was published from an uploaded RPM, which is not kept: upload the RPM again "
    "(copr-cli uploadrpm) instead of rebuilding it"
)

_SOURCE_SUFFIXES = (".src.rpm", ".spec")
RPM_MAGIC = b"\xed\xab\xee\xdb"
_CHUNK = 1024 * 1024


@uploads.route("/tmp/<token>/<filename>")  # noqa: S108 - a URL, not a file
def uploaded_file(token: str, filename: str) -> flask.Response:
    if not _TOKEN.match(token):
        flask.abort(404)
    return flask.send_from_directory(settings().upload_dir.absolute() / token, filename)


def upload_token(source_type: Any, source_json: Any) -> str | None:
    """The upload dir of a build's source, if it is an upload."""
    if source_type != BuildSourceEnum.upload or not isinstance(source_json, dict):
        return None
    token = source_json.get("tmp")
    return token if isinstance(token, str) and _TOKEN.match(token) else None


def _source_over(build: Any) -> bool:
    history = inspect(build).attrs["source_status"].history
    return bool(history.added) and build.source_status in FINISHED_STATES


def _done_uploads(session: Session) -> set[str]:
    from copr_frontend.builds.models import Build
    from copr_frontend.projects.models import Project, ProjectDir

    done: set[str] = set()
    for obj in session.deleted:
        if isinstance(obj, Build):
            done.add(upload_token(obj.source_type, obj.source_json) or "")
        elif isinstance(obj, Project | ProjectDir):
            # Their builds go by the database's cascade, never loaded: ask for them.
            column = Build.project_id if isinstance(obj, Project) else Build.dir_id
            with session.no_autoflush:
                rows = session.execute(
                    select(Build.source_type, Build.source_json).where(
                        column == obj.id, Build.source_type == BuildSourceEnum.upload
                    )
                )
                done.update(upload_token(*row) or "" for row in rows)
    for obj in session.dirty:
        if isinstance(obj, Build) and _source_over(obj):
            done.add(upload_token(obj.source_type, obj.source_json) or "")
    done.discard("")
    return done


def install_cleanup(factory: sessionmaker[Session], upload_dir: Path) -> None:
    """Remove uploads their builds no longer need after commits of ``factory``'s sessions."""

    @event.listens_for(factory, "before_flush")
    def _collect(session: Session, _context: Any, _instances: Any) -> None:
        done = _done_uploads(session)
        if done:
            session.info.setdefault(_DONE_KEY, set()).update(done)

    @event.listens_for(factory, "after_commit")
    def _remove(session: Session) -> None:
        for token in sorted(session.info.pop(_DONE_KEY, None) or ()):
            directory = upload_dir.absolute() / token
            try:
                shutil.rmtree(directory)
            except FileNotFoundError:
                pass
            except OSError as error:
                log.warning("cannot remove the upload %s: %s", directory, error)

    @event.listens_for(factory, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_DONE_KEY, None)


def store_upload(upload: FileStorage, name: str, config: FrontendSettings) -> tuple[str, str]:
    """Save ``upload`` as ``name`` under a fresh random dir of ``upload_dir``; (dir, name).

    An empty file, one over ``max_upload_size``, or an ``.rpm`` that is not an RPM package
    is refused and nothing is kept.
    """
    limit = config.max_upload_size
    token = secrets.token_hex(16)
    directory = config.upload_dir.absolute() / token
    directory.mkdir(parents=True, mode=0o750)
    target = directory / name
    size = 0
    upload.stream.seek(0)  # a request run again after a database lock reads it again
    try:
        with target.open("xb") as out:
            first = b""
            while chunk := upload.stream.read(_CHUNK):
                if not first:
                    first = chunk[:4]
                size += len(chunk)
                if size > limit:
                    raise ApiError(f"The upload is larger than the limit of {limit} bytes", 413)
                out.write(chunk)
        if size == 0:
            raise BadRequest(f"The uploaded file {name!r} is empty")
        if name.endswith(".rpm") and first != RPM_MAGIC:
            raise BadRequest(f"The uploaded file {name!r} is not an RPM package")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return token, name


@contextmanager
def stored_upload(
    upload: FileStorage, config: FrontendSettings
) -> Iterator[tuple[BuildSourceEnum, dict[str, Any]]]:
    """Store an uploaded ``.src.rpm``/``.spec`` and give the build source that points the
    builder at it; the file is removed again when the block fails (the build that would
    fetch it was not made).  A file of another kind is refused.
    """
    name = secure_filename(upload.filename or "")
    if not name.endswith(_SOURCE_SUFFIXES) or name in _SOURCE_SUFFIXES:
        raise BadRequest(
            f"File {upload.filename!r} is not accepted: upload a .src.rpm or a .spec file"
        )
    token, name = store_upload(upload, name, config)
    try:
        url = f"{config.public_url}/tmp/{token}/{name}"  # noqa: S108 - a URL, not a file
        yield BuildSourceEnum.upload, {"url": url, "pkg": name, "tmp": token}
    except BaseException:
        shutil.rmtree(config.upload_dir.absolute() / token, ignore_errors=True)
        raise


def forget_upload(build: Build) -> None:
    """Remove the uploaded RPM of an ended ``rpm_upload`` build (called after the commit
    that ended it: the builder has fetched it, the results tree has it signed).
    """
    if build.source_type != BuildSourceEnum.rpm_upload or not build.state.is_finished:
        return
    token = build.source_json.get("tmp")
    if isinstance(token, str) and token.isalnum():
        shutil.rmtree(settings().upload_dir.absolute() / token, ignore_errors=True)
