"""``…/permissions/``: a user asks for the builder or admin right; the project's admins
approve, refuse or revoke them (form fields ``copr_builder_<user id>`` and
``copr_admin_<user id>`` as in Copr).
"""

from __future__ import annotations

from typing import Any

import flask
from flask_babel import gettext

from copr_common.enums import PermissionEnum
from copr_frontend import db
from copr_frontend.permissions.logic import (
    PermissionChangeError,
    get_permission,
    is_owner,
    list_permissions,
    request_permission,
    set_permission,
)
from copr_frontend.projects.models import Project
from copr_frontend.web.forms import FormErrors, render_form
from copr_frontend.web.routing import login_required, project_rights, project_route, purl

blueprint = flask.Blueprint("permissions", __name__)

ROLES = ("builder", "admin")


@project_route(blueprint, "/permissions/", methods=["GET", "POST"])
def permissions(project: Project) -> Any:
    user = login_required()
    session = db.session()
    rights = project_rights(project)
    errors = FormErrors()
    if flask.request.method == "POST":
        try:
            if flask.request.form.get("action") == "request":
                changed = False
                for role in ROLES:
                    wanted = f"copr_{role}" in flask.request.form
                    changed |= request_permission(session, user, project, role, wanted)
                message = (
                    gettext("Your request was sent to the project admins.")
                    if changed
                    else gettext("Nothing changed.")
                )
            else:
                if not rights["admin"]:
                    flask.abort(
                        403,
                        gettext(
                            "Only the owner and the admins of %(project)s may do this.",
                            project=project.full_name,
                        ),
                    )
                for perm in list_permissions(session, project):
                    for role in ROLES:
                        value = flask.request.form.get(f"copr_{role}_{perm.user_id}")
                        if value:
                            set_permission(session, user, perm.user, project, role, value)
                message = gettext("The permissions were updated.")
        except PermissionChangeError as error:
            session.rollback()
            errors.add(str(error))
        else:
            session.commit()
            flask.flash(message)
            return flask.redirect(purl("permissions.permissions", project), code=303)
    mine = get_permission(session, user, project)
    return render_form(
        "permissions/permissions.html",
        errors,
        project=project,
        rights=rights,
        permissions=list_permissions(session, project) if rights["admin"] else [],
        mine=mine,
        owner=is_owner(session, user, project),
        states=[(s.label, s) for s in PermissionEnum],
        PermissionEnum=PermissionEnum,
    )
