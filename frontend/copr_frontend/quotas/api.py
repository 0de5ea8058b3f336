"""API v3 ``/quota/<ownername>``: an owner's storage usage and limit, and per project.

``GET /quota/<ownername>`` (also ``/quota?ownername=``) →
``{"ownername", "usage", "limit", "limit_source", "exceeded", "projects": [{"name",
"usage"}]}``; sizes in bytes, ``limit`` null for no limit, ``limit_source`` ``default``
(the settings') or ``owner`` (an admin's override).  Public, as ``project/get`` (which
shows each project's ``storage_usage``) is.
"""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import ObjectNotFound, route
from copr_frontend.api.params import get_params
from copr_frontend.context import settings
from copr_frontend.projects.logic import owner_exists
from copr_frontend.projects.models import Project
from copr_frontend.quotas import logic


def quota_to_json(quota: logic.Quota, projects: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "ownername": quota.ownername,
        "usage": quota.usage,
        "limit": quota.limit,
        "limit_source": "owner" if quota.overridden else "default",
        "exceeded": quota.exceeded,
        "projects": [{"name": name, "usage": usage} for name, usage in projects],
    }


def owner_projects_usage(ownername: str) -> list[tuple[str, int]]:
    """``(name, bytes)`` of each of the owner's projects, by name."""
    session = db.session()
    usages = logic.project_usages(session, ownername)
    names = session.execute(
        select(Project.id, Project.name)
        .where(Project.ownername == ownername)
        .order_by(Project.name)
    )
    return [(name, usages.get(project_id, 0)) for project_id, name in names]


@route("/quota/<ownername>", "/quota")
def get_quota(**_path: Any) -> flask.Response:
    ownername = get_params().get("ownername") or ""
    session = db.session()
    if not ownername or not owner_exists(session, ownername):
        raise ObjectNotFound(f"Owner {ownername or '(none)'} does not exist")
    quota = logic.owner_quota(session, settings(), ownername)
    return flask.jsonify(quota_to_json(quota, owner_projects_usage(ownername)))
