"""Uploaded sources: served back at ``/tmp/<dir>/<file>`` for the builder to download,
and removed once no build needs them.

The upload route (``/api_3/build/create/upload``) stores each file under a fresh random
directory of ``upload_dir``; only names of that shape are served.  The builder fetches
the file during the source build; from there on the SRPM lives in the results tree and
dist-git.  So an upload is removed when its build's source phase is over for good —
imported (source ``succeeded``), failed before or during the import, canceled — and
when the build (or its project) is deleted.  Removal happens after the commit that
made it so: a rolled-back transaction (a retried request) keeps the file.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

import flask
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from copr_common.enums import FINISHED_STATES, BuildSourceEnum
from copr_frontend.app import settings

log = logging.getLogger(__name__)

uploads = flask.Blueprint("uploads", __name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_DONE_KEY = "copr_uploads_done"


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
