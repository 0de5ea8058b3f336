"""What API v3 resource views share: find the object a request names, or check a right.

A missing object is a 404, a missing right a 401/403.  Input values are checked by
:mod:`copr_frontend.validation`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError

from copr_frontend import db
from copr_frontend.api.auth import login_required_user
from copr_frontend.api.errors import AccessRestricted, BadRequest, Conflict, ObjectNotFound
from copr_frontend.builds.models import Build
from copr_frontend.builds.serialize import BUILD_JSON_LOADS
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project
from copr_frontend.users.models import User
from copr_frontend.validation import MAX_INT, to_int


def project_or_404(ownername: Any, projectname: Any) -> Project:
    if not ownername:
        raise BadRequest("Missing required parameter 'ownername'")
    if not projectname:
        raise BadRequest("Missing required parameter 'projectname'")
    project = get_project(db.session(), str(ownername), str(projectname))
    if project is None:
        raise ObjectNotFound(f"Project {ownername}/{projectname} does not exist.")
    return project


def build_or_404(build_id: Any) -> Build:
    """The build, with what its JSON shows (routes that find one mostly answer with it)."""
    number = to_int(build_id, "build_id", required=True)
    found = number if 0 < number <= MAX_INT else None
    build = db.session().get(Build, found, options=BUILD_JSON_LOADS) if found else None
    if build is None:
        raise ObjectNotFound(f"Build {build_id} does not exist.")
    return build


def require_admin(project: Project) -> User:
    """The caller, who must administer ``project`` (401 anonymous, 403 otherwise)."""
    user = login_required_user()
    if not can_admin(db.session(), user, project):
        raise AccessRestricted(
            f"User {user.name} is not allowed to change project {project.full_name}: "
            "only its owner and its admins are"
        )
    return user


def require_builder(project: Project) -> User:
    """The caller, who must be allowed to build in ``project``."""
    user = login_required_user()
    if not can_build(db.session(), user, project):
        raise AccessRestricted(
            f"User {user.name} is not allowed to build in the project {project.full_name}"
        )
    return user


@contextmanager
def conflict_on_duplicate(what: str) -> Iterator[None]:
    """A unique constraint hit inside the block (by a concurrent request creating the same
    name; the routes check for duplicates first) is a 409, not a 500.
    """
    try:
        yield
    except IntegrityError:
        db.session().rollback()
        raise Conflict(f"{what} already exists (created by a concurrent request)") from None
