"""API v3 ``/monitor``: for each package of a project dir, its latest build per chroot."""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.lookup import project_or_404
from copr_frontend.app import settings
from copr_frontend.builds.api import chroot_result_url
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.projects.logic import get_project_dir

ADDITIONAL_FIELDS = ("url_build_log", "url_backend_log", "url_build")


def _chroot_entry(chroot: BuildChroot, fields: set[str]) -> dict[str, Any]:
    build = chroot.build
    entry: dict[str, Any] = {
        "build_id": build.id,
        "state": chroot.status.label,
        "status": int(chroot.status),
        "pkg_version": build.pkg_version,
    }
    result_url = chroot_result_url(chroot)
    if "url_build_log" in fields:
        entry["url_build_log"] = f"{result_url}builder-live.log.gz" if result_url else None
    if "url_backend_log" in fields:
        entry["url_backend_log"] = f"{result_url}backend.log.gz" if result_url else None
    if "url_build" in fields:
        entry["url_build"] = f"{settings().public_url}/coprs/build/{build.id}/"
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
    query = (
        select(BuildChroot)
        .join(Build, Build.id == BuildChroot.build_id)
        .where(Build.dir_id == project_dir.id, Build.pkg_name.is_not(None))
        .order_by(Build.id.desc())
    )
    packages: dict[str, dict[str, Any]] = {}
    for chroot in db.session().scalars(query):
        name = chroot.build.package_name
        assert name is not None
        chroots = packages.setdefault(name, {})
        chroots.setdefault(chroot.name, _chroot_entry(chroot, fields))
    return flask.jsonify(
        {
            "output": "ok",
            "message": "Project monitor request successful",
            "packages": [{"name": n, "chroots": packages[n]} for n in sorted(packages)],
        }
    )
