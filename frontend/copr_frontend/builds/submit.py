"""What every API v3 route that submits a build shares: find the project and check the
caller may build there, parse the build options; commit and answer with the builds.
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api.lookup import project_or_404, require_builder
from copr_frontend.builds.models import Build
from copr_frontend.builds.options import BuildRequest, parse_build_request
from copr_frontend.builds.serialize import build_to_json
from copr_frontend.context import settings
from copr_frontend.projects.models import Project


def prepare(data: dict[str, Any]) -> tuple[Project, BuildRequest]:
    """The project ``data`` names (404), once the caller may build there (401/403), and
    the build options parsed from ``data`` (400 when invalid); nothing is stored yet.
    """
    project = project_or_404(data.get("ownername"), data.get("projectname"))
    require_builder(project)
    return project, parse_build_request(db.session(), project, data, settings())


def created(builds: list[Build], as_list: bool = False) -> flask.Response:
    """Commit the submitted ``builds`` and answer with the first one's JSON (a page of
    all of them with ``as_list``, as ``create/url`` answers).
    """
    db.session().commit()
    if as_list:
        return flask.jsonify({"items": [build_to_json(b) for b in builds], "meta": {}})
    return flask.jsonify(build_to_json(builds[0]))
