"""API v3 ``/project/permissions/...``: list, set (admins), request (anyone logged in)
and ``can_build_in``.

``set`` is all-or-nothing: one bad entry and nothing changes.
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.lookup import project_or_404, require_admin
from copr_frontend.api.params import get_params
from copr_frontend.permissions.logic import (
    PermissionChangeError,
    can_build,
    list_permissions,
    request_permission,
    set_permission,
)
from copr_frontend.users.logic import get_user
from copr_frontend.validation import to_bool


def _json_object() -> dict[str, Any]:
    data = flask.request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    return data


def _project_from_path() -> Any:
    params = get_params()
    return project_or_404(params.get("ownername"), params.get("projectname"))


@route("/project/permissions/get/<ownername>/<projectname>", "/project/permissions/get")
@require_login
def get_permissions(**_path: Any) -> flask.Response:
    project = _project_from_path()
    require_admin(project)
    permissions = {
        perm.user.name: {
            "admin": perm.copr_admin.label,
            "builder": perm.copr_builder.label,
        }
        for perm in list_permissions(db.session(), project)
    }
    if not permissions:
        raise ObjectNotFound(f"No permissions set on {project.full_name} project")
    return flask.jsonify({"permissions": permissions})


@route(
    "/project/permissions/set/<ownername>/<projectname>",
    "/project/permissions/set",
    methods=["PUT"],
)
@require_login
def set_permissions(**_path: Any) -> flask.Response:
    project = _project_from_path()
    actor = require_admin(project)
    data = _json_object()
    if not data:
        raise BadRequest("No permission change requested: send {user: {role: state}}")
    session = db.session()
    updated = []
    for username, roles in data.items():
        if not isinstance(roles, dict) or not roles:
            raise BadRequest(
                f"Permissions of {username!r} must be an object like "
                "{'admin': 'nothing', 'builder': 'approved'}"
            )
        user = get_user(session, str(username))
        if user is None:
            raise BadRequest(f"User {username!r} does not exist")
        changed = False
        for role, state in roles.items():
            if not isinstance(state, str):
                raise BadRequest(f"Permission state of {username}/{role} must be a string")
            try:
                changed |= set_permission(session, actor, user, project, str(role), state)
            except PermissionChangeError as error:
                raise BadRequest(str(error)) from None
        if changed:
            updated.append(user.name)
    session.commit()
    return flask.jsonify({"updated": updated})


@route(
    "/project/permissions/request/<ownername>/<projectname>",
    "/project/permissions/request",
    methods=["PUT"],
)
@require_login
def request_permissions(**_path: Any) -> flask.Response:
    project = _project_from_path()
    user = login_required_user()
    data = _json_object()
    if not data:
        raise BadRequest("No permission requested: send {'builder': true, 'admin': false}")
    session = db.session()
    changed = False
    for role, wanted in data.items():
        want = to_bool(wanted, str(role))
        if want is None:
            raise BadRequest(f"Field {role!r} must be true (request) or false (give up)")
        try:
            changed |= request_permission(session, user, project, str(role), want)
        except PermissionChangeError as error:
            raise BadRequest(str(error)) from None
    session.commit()
    return flask.jsonify({"updated": changed})


@route(
    "/project/permissions/can_build_in/<who>/<ownername>/<projectname>",
    "/project/permissions/can_build_in",
)
def can_build_in(**_path: Any) -> flask.Response:
    params = get_params()
    who = params.get("who")
    if not who:
        raise BadRequest("Missing required parameter 'who'")
    user = get_user(db.session(), who)
    if user is None:
        raise ObjectNotFound(f"User {who} does not exist.")
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    return flask.jsonify(
        {
            "who": user.name,
            "ownername": project.ownername,
            "projectname": project.name,
            "can_build_in": can_build(db.session(), user, project),
        }
    )
