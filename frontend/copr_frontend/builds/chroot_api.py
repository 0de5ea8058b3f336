"""API v3 ``/build-chroot/...``: one build's task in one chroot, its config and results."""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.lookup import build_or_404
from copr_frontend.api.params import get_params, paginate
from copr_frontend.builds.models import BuildChroot
from copr_frontend.builds.serialize import build_chroot_to_json, built_packages
from copr_frontend.context import settings
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.projects.build_config import build_chroot_config_json, chroot_build_config
from copr_frontend.projects.logic import project_chroot


def _build_chroot() -> BuildChroot:
    params = get_params()
    build = build_or_404(params.get("build_id"))
    name = params.get("chrootname")
    if not name:
        raise BadRequest("Missing required parameter 'chrootname'")
    chroot = build.chroot(name)
    if chroot is None:
        raise ObjectNotFound(f"Build {build.id} has no chroot {name}")
    return chroot


@route("/build-chroot", "/build-chroot/<int:build_id>/<chrootname>")
def get_build_chroot(**_path: Any) -> flask.Response:
    return flask.jsonify(build_chroot_to_json(_build_chroot()))


@route("/build-chroot/list", "/build-chroot/list/<int:build_id>")
def build_chroot_list(**_path: Any) -> flask.Response:
    params = get_params()
    build = build_or_404(params.get("build_id"))
    query = (
        select(BuildChroot)
        .join(MockChroot, MockChroot.id == BuildChroot.mock_chroot_id)
        .where(BuildChroot.build_id == build.id)
    )
    orderable = {"id": BuildChroot.id, "name": MockChroot.name}
    page = paginate(db.session(), query, build_chroot_to_json, params, orderable=orderable)
    return flask.jsonify(page)


@route("/build-chroot/build-config", "/build-chroot/build-config/<int:build_id>/<chrootname>")
def build_chroot_config(**_path: Any) -> flask.Response:
    chroot = _build_chroot()
    build = chroot.build
    copr_chroot = project_chroot(build.project, chroot.name)
    config = chroot_build_config(
        db.session(), build.project, copr_chroot, chroot.name, settings(), build=build
    )
    return flask.jsonify(build_chroot_config_json(config))


@route("/build-chroot/built-packages")
def build_chroot_built_packages() -> flask.Response:
    return flask.jsonify(built_packages(_build_chroot()))
