"""API v3 ``/build-chroot/...``: one build's task in one chroot, its config and results."""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.lookup import build_or_404
from copr_frontend.api.params import get_params, paginate
from copr_frontend.backend_api.tasks import build_repos
from copr_frontend.builds.models import BuildChroot
from copr_frontend.builds.serialize import build_chroot_to_json, built_packages
from copr_frontend.context import settings
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.projects.chroot_api import choose, chroot_additional_repos
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
    project = build.project
    copr_chroot = project_chroot(project, chroot.name)
    conf = settings()
    config: dict[str, Any] = {
        "chroot": chroot.name,
        "repos": build_repos(build, chroot.name, conf),
        "additional_repos": chroot_additional_repos(project, copr_chroot, chroot.name),
        "additional_packages": list(copr_chroot.buildroot_pkgs) if copr_chroot else [],
        "with_opts": list(copr_chroot.with_opts) if copr_chroot else [],
        "without_opts": list(copr_chroot.without_opts) if copr_chroot else [],
        "memory_limit": build.memory_reqs,
        "timeout": build.timeout,
        "enable_net": build.enable_net,
        "is_background": build.is_background,
        "isolation": choose(
            build.isolation, copr_chroot.isolation if copr_chroot else None, project.isolation
        ),
        "bootstrap": choose(
            build.bootstrap, copr_chroot.bootstrap if copr_chroot else None, project.bootstrap
        ),
    }
    image = build.bootstrap_image or (copr_chroot.bootstrap_image if copr_chroot else None)
    if image:
        config["bootstrap_image"] = image
    return flask.jsonify(config)


@route("/build-chroot/built-packages")
def build_chroot_built_packages() -> flask.Response:
    return flask.jsonify(built_packages(_build_chroot()))
