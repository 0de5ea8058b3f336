"""API v3 ``/build/...``: read builds, submit them from every kind of source, cancel
and delete them.

Every ``create/*`` route reads the shared build options (:mod:`.options`), checks that
the caller may build in the project before it reads any source (an upload is only
stored after that), and answers with the build's JSON (``create/url`` with a list).
"""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_common.enums import BuildSourceEnum
from copr_frontend import db
from copr_frontend.api import ApiError, BadRequest, Conflict, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.lookup import build_or_404, project_or_404, require_builder
from copr_frontend.api.params import get_params, json_body, paginate
from copr_frontend.builds import sources
from copr_frontend.builds.models import Build
from copr_frontend.builds.options import source_or_400
from copr_frontend.builds.removal import BuildRemovalError, delete_build
from copr_frontend.builds.serialize import build_to_json, built_packages, repo_url
from copr_frontend.builds.submit import created, prepare
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.builds.uploads import forget_upload, stored_upload
from copr_frontend.context import settings
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.validation import to_list, to_status, to_text

# --- reading ------------------------------------------------------------------------------


@route("/build/<int:build_id>", "/build")
def get_build(build_id: int | None = None) -> flask.Response:
    return flask.jsonify(build_to_json(build_or_404(get_params().get("build_id"))))


@route("/build/list")
def build_list() -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    query = select(Build).where(Build.project_id == project.id)
    if params.get("packagename"):
        query = query.where(Build.pkg_name == params["packagename"])
    status = to_status(params.get("status"))
    if status is not None:
        query = query.where(Build.state == status)
    orderable = {
        "id": Build.id,
        "submitted_on": Build.submitted_on,
        "state": Build.state,
        "ended_on": Build.ended_on,
    }
    return flask.jsonify(paginate(db.session(), query, build_to_json, params, orderable=orderable))


@route("/build/source-chroot/<int:build_id>", "/build/source-chroot")
def source_chroot(build_id: int | None = None) -> flask.Response:
    build = build_or_404(get_params().get("build_id"))
    base = repo_url(build.project, build.dir.name)
    return flask.jsonify(
        {"state": build.source_status.label, "result_url": f"{base}/srpm-builds/{build.id:08d}/"}
    )


@route("/build/source-build-config/<int:build_id>", "/build/source-build-config")
def source_build_config(build_id: int | None = None) -> flask.Response:
    build = build_or_404(get_params().get("build_id"))
    return flask.jsonify(
        {
            "source_type": build.source_type.label,
            "source_dict": sources.source_dict_for_api(build.source_json),
            "memory_limit": build.memory_reqs,
            "timeout": build.timeout,
            "is_background": build.is_background,
        }
    )


@route("/build/built-packages/<int:build_id>", "/build/built-packages")
def build_built_packages(build_id: int | None = None) -> flask.Response:
    build = build_or_404(get_params().get("build_id"))
    return flask.jsonify({c.name: built_packages(c) for c in build.chroots})


# --- cancel and delete --------------------------------------------------------------------


@route("/build/cancel/<int:build_id>", "/build/cancel", methods=["PUT"])
@require_login
def cancel(build_id: int | None = None) -> flask.Response:
    build = build_or_404(get_params().get("build_id"))
    require_builder(build.project)
    session = db.session()
    if not cancel_build(session, build):
        raise Conflict(f"Cannot cancel build {build.id}: it is already {build.state.label}")
    session.commit()
    forget_upload(build)
    return flask.jsonify(build_to_json(build))


def _check_may_delete(build: Build) -> None:
    user = login_required_user()
    session = db.session()
    own_build = build.user_id == user.id and can_build(session, user, build.project)
    if not (own_build or can_admin(session, user, build.project)):
        raise ApiError(
            f"User {user.name} may not delete build {build.id}: only the project's admins "
            "and the build's submitter may",
            403,
        )


def _delete(build: Build) -> None:
    try:
        delete_build(db.session(), build)
    except BuildRemovalError as error:
        raise Conflict(str(error)) from None


@route("/build/delete/<int:build_id>", "/build/delete", methods=["DELETE"])
@require_login
def delete(build_id: int | None = None) -> flask.Response:
    build = build_or_404(get_params().get("build_id") or json_body().get("build_id"))
    _check_may_delete(build)
    data = build_to_json(build)
    _delete(build)
    db.session().commit()
    return flask.jsonify(data)


@route("/build/delete/list", methods=["DELETE"])
@require_login
def delete_list() -> flask.Response:
    login_required_user()
    ids = json_body().get("builds")
    if not isinstance(ids, list) or not ids:
        raise BadRequest("Field 'builds' must be a non-empty list of build ids")
    builds = [build_or_404(i) for i in ids]
    for build in builds:
        _check_may_delete(build)
    for build in builds:
        _delete(build)
    db.session().commit()
    return flask.jsonify({"builds": [b.id for b in builds]})


# --- submitting ---------------------------------------------------------------------------


@route("/build/check-before-build", methods=["POST"])
@require_login
def check_before_build() -> flask.Response:
    """Would a build with these options be accepted?  Nothing is stored."""
    data = json_body()
    project, _request = prepare(data)
    db.session().rollback()
    return flask.jsonify({"message": f"It should be possible to build in {project.full_name}"})


@route("/build/create/url", methods=["POST"])
@require_login
def create_from_url() -> flask.Response:
    data = json_body()
    _project, request = prepare(data)
    urls = to_list(data.get("pkgs"), "pkgs")
    if not urls:
        raise BadRequest("Field 'pkgs' must name at least one URL of a .src.rpm or .spec file")
    parsed = [source_or_400(lambda u=u: sources.link_source(u)) for u in urls]
    user = login_required_user()
    builds = [request.submit(db.session(), user, source) for source in parsed]
    return created(builds, as_list=True)


@route("/build/create/upload", methods=["POST"])
@require_login
def create_from_upload() -> flask.Response:
    data = json_body()
    _project, request = prepare(data)
    upload = flask.request.files.get("pkgs")
    if upload is None or not upload.filename:
        raise BadRequest("Missing the uploaded file: send it as the multipart part 'pkgs'")
    with stored_upload(upload, settings()) as source:
        build = request.submit(db.session(), login_required_user(), source)
    return created([build])


def _create_from(data: dict[str, Any], parse: Any) -> flask.Response:
    _project, request = prepare(data)
    source = source_or_400(parse)
    return created([request.submit(db.session(), login_required_user(), source)])


@route("/build/create/scm", methods=["POST"])
@require_login
def create_from_scm() -> flask.Response:
    data = json_body()
    return _create_from(data, lambda: (BuildSourceEnum.scm, sources.scm_source(data)))


@route("/build/create/pypi", methods=["POST"])
@require_login
def create_from_pypi() -> flask.Response:
    data = json_body()
    return _create_from(data, lambda: (BuildSourceEnum.pypi, sources.pypi_source(data)))


@route("/build/create/rubygems", methods=["POST"])
@require_login
def create_from_rubygems() -> flask.Response:
    data = json_body()
    return _create_from(data, lambda: (BuildSourceEnum.rubygems, sources.rubygems_source(data)))


@route("/build/create/custom", methods=["POST"])
@require_login
def create_from_custom() -> flask.Response:
    data = json_body()
    return _create_from(data, lambda: (BuildSourceEnum.custom, sources.custom_source(data)))


@route("/build/create/distgit", methods=["POST"])
@require_login
def create_from_distgit() -> flask.Response:
    data = json_body()
    name = to_text(data.get("package_name"), "package_name") or ""
    if not name:
        raise BadRequest("Missing required field 'package_name'")
    dist_git = settings().dist_git_url
    return _create_from(
        data,
        lambda: (BuildSourceEnum.distgit, sources.distgit_source(data, name, dist_git)),
    )
