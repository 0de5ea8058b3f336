"""API v3 ``/monitor``: for each package of a project dir, its latest build per active
chroot of the project (the query is :func:`builds.logic.latest_chroot_builds`, shared
with the monitor page).
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.lookup import project_or_404
from copr_frontend.builds.logic import MonitorCell, latest_chroot_builds
from copr_frontend.builds.serialize import repo_url, task_result_url
from copr_frontend.context import settings
from copr_frontend.projects.logic import get_project_dir

ADDITIONAL_FIELDS = ("url_build_log", "url_backend_log", "url_build")


def _chroot_entry(
    repo: str, package: str, chroot: str, cell: MonitorCell, fields: set[str]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "build_id": cell.build_id,
        "state": cell.status.label,
        "status": int(cell.status),
        "pkg_version": cell.pkg_version,
    }
    result_url = task_result_url(repo, chroot, cell.build_id, package, cell.result_dir)
    if "url_build_log" in fields:
        entry["url_build_log"] = f"{result_url}builder-live.log.gz" if result_url else None
    if "url_backend_log" in fields:
        entry["url_backend_log"] = f"{result_url}backend.log.gz" if result_url else None
    if "url_build" in fields:
        entry["url_build"] = f"{settings().public_url}/coprs/build/{cell.build_id}/"
    return entry


@route("/monitor")
def monitor() -> flask.Response:
    args = flask.request.args
    project = project_or_404(args.get("ownername"), args.get("projectname"))
    fields = set(args.getlist("additional_fields[]")) | set(args.getlist("additional_fields"))
    unknown = sorted(fields - set(ADDITIONAL_FIELDS))
    if unknown:
        raise BadRequest(f"Wrong additional_fields argument(s): {', '.join(unknown)}")
    dirname = args.get("project_dirname") or project.name
    project_dir = get_project_dir(db.session(), project, dirname)
    if project_dir is None:
        raise ObjectNotFound(f"Project {project.full_name} has no dir {dirname}")
    packages = latest_chroot_builds(db.session(), project_dir)
    repo = repo_url(project, project_dir.name)
    return flask.jsonify(
        {
            "output": "ok",
            "message": "Project monitor request successful",
            "packages": [
                {
                    "name": name,
                    "chroots": {
                        chroot: _chroot_entry(repo, name, chroot, cell, fields)
                        for chroot, cell in cells.items()
                    },
                }
                for name, cells in packages.items()
            ],
        }
    )
