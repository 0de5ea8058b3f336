"""What API v3 resource views share: find the object a request names, or answer 404;
check the caller's right in a project, or answer 401/403.

Input values come as text (query strings) or JSON values (bodies); the converters here
accept both and turn anything else into a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask
from sqlalchemy.exc import IntegrityError

from copr_common.enums import StatusEnum
from copr_frontend import db
from copr_frontend.api import api_v3
from copr_frontend.api.auth import login_required_user
from copr_frontend.api.errors import AccessRestricted, BadRequest, Conflict, ObjectNotFound
from copr_frontend.builds.models import Build
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project
from copr_frontend.users.models import User


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
    number = to_int(build_id, "build_id", required=True)
    # required=True: to_int raises rather than return None; the test is for mypy.
    in_range = number is not None and 0 < number <= MAX_INT
    build = db.session().get(Build, number) if in_range else None
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


# --- value converters ---------------------------------------------------------------------

MAX_INT = 2**31 - 1
"""The largest value an integer column holds."""

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def to_bool(value: Any, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f"Field {name!r} must be a boolean, got {value!r}")


def to_int(
    value: Any,
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    if value is None or value == "":
        if required:
            raise BadRequest(f"Missing required parameter {name!r}")
        return None
    if isinstance(value, bool):
        raise BadRequest(f"Field {name!r} must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Field {name!r} must be an integer, got {value!r}") from None
    if not -MAX_INT <= number <= MAX_INT:
        raise BadRequest(f"Field {name!r} is out of range: {number}")
    if minimum is not None and number < minimum:
        raise BadRequest(f"Field {name!r} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise BadRequest(f"Field {name!r} must be at most {maximum}, got {number}")
    return number


def to_text(value: Any, name: str, *, max_length: int = 100_000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadRequest(f"Field {name!r} must be text, got {type(value).__name__}")
    text = str(value)
    if len(text) > max_length:
        raise BadRequest(f"Field {name!r} is too long (at most {max_length} characters)")
    if "\x00" in text:
        raise BadRequest(f"Field {name!r} must not contain NUL characters")
    return text


def to_list(value: Any, name: str) -> list[str] | None:
    """A list of strings: a JSON list, or text split on whitespace (and commas)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise BadRequest(f"Field {name!r} must be a list of strings")
            text = str(item).strip()
            if "\x00" in text:
                raise BadRequest(f"Field {name!r} must not contain NUL characters")
            if text:
                items.append(text)
        return items
    raise BadRequest(f"Field {name!r} must be a list of strings")


def to_choice(value: Any, name: str, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if text not in choices:
        raise BadRequest(f"Field {name!r} must be one of {', '.join(choices)}; got {text!r}")
    return text


def to_status(value: Any) -> StatusEnum | None:
    if value is None or value == "":
        return None
    try:
        return StatusEnum.from_label(str(value))
    except ValueError as error:
        raise BadRequest(str(error)) from None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


@api_v3.before_request
def reject_nul_characters() -> None:
    """A 400 for NUL characters anywhere in the input: no name or text may hold one, and
    PostgreSQL refuses them in text (a query would fail with a 500 instead).
    """
    request = flask.request
    if "\x00" in request.path or any(
        _holds_nul(k) or _holds_nul(v) for k, v in request.args.items(multi=True)
    ):
        raise BadRequest("The request holds a NUL character")
    if request.is_json and _holds_nul(request.get_json(silent=True)):
        raise BadRequest("The request body holds a NUL character")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded") and any(
        _holds_nul(v) for v in request.form.values()
    ):
        raise BadRequest("The request body holds a NUL character")
