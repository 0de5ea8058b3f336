"""API v3 ``/build/...``: read builds, submit them from every kind of source, cancel
and delete them.

Every ``create/*`` route reads the shared build options (:mod:`.options`), checks that
the caller may build in the project before it reads any source (an upload is only
stored after that), and answers with the build's JSON (``create/url`` with a list).
"""

from __future__ import annotations

import functools
from typing import Any

import flask
from sqlalchemy import select

from copr_common.names import srpm_build_dir
from copr_frontend import db
from copr_frontend.api import ApiError, BadRequest, Conflict, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.lookup import (
    build_or_404,
    project_or_404,
    require_builder,
    to_list,
    to_status,
)
from copr_frontend.api.params import get_params, json_body, paginate
from copr_frontend.app import settings
from copr_frontend.builds import sources
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.builds.options import BuildRequest, parse_build_request, source_or_400
from copr_frontend.builds.removal import BuildRemovalError, delete_build
from copr_frontend.builds.source_types import SOURCE_TYPES, SourceType, build_source
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.builds.uploads import stored_upload
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.projects.models import Project

# --- JSON ---------------------------------------------------------------------------------


def repo_url(project: Project, dirname: str) -> str:
    return f"{settings().results_url}/{project.ownername}/{dirname}"


def build_to_json(build: Build) -> dict[str, Any]:
    started = [c.started_on for c in build.chroots if c.started_on is not None]
    if build.started_on is not None:
        started.append(build.started_on)
    return {
        "id": build.id,
        "state": build.state.label,
        "ownername": build.project.ownername,
        "projectname": build.project.name,
        "project_dirname": build.dir.name,
        "repo_url": repo_url(build.project, build.dir.name),
        "source_package": {
            "name": build.package_name,
            "version": build.pkg_version,
            "url": build.srpm_url,
        },
        "submitted_on": build.submitted_on,
        "started_on": min(started) if started else None,
        "ended_on": build.ended_on,
        "submitter": build.submitter,
        "chroots": [c.name for c in build.chroots],
        "is_background": build.is_background,
        # Ours, not Copr's: why the source build or the import failed (real clients ignore it).
        "fail_reason": build.fail_reason,
    }


def chroot_result_url(chroot: BuildChroot) -> str | None:
    build = chroot.build
    return task_result_url(
        repo_url(build.project, build.dir.name), chroot.name, build.id, build.package_name,
        chroot.result_dir,
    )  # fmt: skip


def task_result_url(
    repo: str, chroot: str, build_id: int, package_name: str | None, result_dir: str
) -> str | None:
    """Where a task's results are: ``<repo>/<chroot>/<result dir>/`` (the result dir
    defaults to ``<build id, 8 digits>-<package>``), None while neither is known.
    """
    result_dir = result_dir or (f"{build_id:08d}-{package_name}" if package_name else "")
    if not result_dir:
        return None
    return f"{repo}/{chroot}/{result_dir}/"


def build_chroot_to_json(chroot: BuildChroot) -> dict[str, Any]:
    return {
        "name": chroot.name,
        "started_on": chroot.started_on,
        "ended_on": chroot.ended_on,
        "result_url": chroot_result_url(chroot),
        "state": chroot.status.label,
        "fail_reason": chroot.fail_reason,
        # Ours, not Copr's (real clients ignore them): what built it — "mock" or "host" —
        # and the BuildRequires that buildroot did not install.
        "buildroot": chroot.buildroot,
        "buildrequires_not_installed": chroot.buildrequires_not_installed,
    }


_NEVRA = ("name", "epoch", "version", "release", "arch")


def built_packages(chroot: BuildChroot) -> dict[str, Any]:
    """The packages the backend reported, each as its NEVRA fields (and only those)."""
    packages = (chroot.results or {}).get("packages") or []
    return {
        "packages": [
            {key: package[key] for key in _NEVRA if key in package}
            for package in packages
            if isinstance(package, dict) and isinstance(package.get("name"), str)
        ]
    }


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
        {"state": build.source_status.label, "result_url": f"{base}/{srpm_build_dir(build.id)}/"}
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
    # Imported here: that module builds on this one.
    from copr_frontend.builds.rpm_upload_api import forget_upload

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


def _prepare(data: dict[str, Any]) -> tuple[Project, BuildRequest]:
    project = project_or_404(data.get("ownername"), data.get("projectname"))
    require_builder(project)
    return project, parse_build_request(db.session(), project, data, settings())


def _created(builds: list[Build], as_list: bool = False) -> flask.Response:
    db.session().commit()
    if as_list:
        return flask.jsonify({"items": [build_to_json(b) for b in builds], "meta": {}})
    return flask.jsonify(build_to_json(builds[0]))


@route("/build/check-before-build", methods=["POST"])
@require_login
def check_before_build() -> flask.Response:
    """Would a build with these options be accepted?  Nothing is stored."""
    data = json_body()
    project, _request = _prepare(data)
    db.session().rollback()
    return flask.jsonify({"message": f"It should be possible to build in {project.full_name}"})


def _create_from_data(source: SourceType) -> flask.Response:
    """A ``build/create/<route>`` of a source parsed from the JSON body."""
    data = json_body()
    _project, request = _prepare(data)
    dist_git = settings().dist_git_url
    user = login_required_user()
    if source.batch_field is None:
        parsed = source_or_400(lambda: build_source(source, data, dist_git))
        return _created([request.submit(db.session(), user, parsed)])
    # One build per listed source (create/url's pkgs), all checked before any is stored.
    items = to_list(data.get(source.batch_field), source.batch_field)
    if not items:
        raise BadRequest(
            f"Field {source.batch_field!r} must name at least one URL of a .src.rpm or .spec file"
        )
    batch = [source_or_400(lambda u=u: build_source(source, {"url": u}, dist_git)) for u in items]
    return _created([request.submit(db.session(), user, one) for one in batch], as_list=True)


def _create_from_upload() -> flask.Response:
    """A ``build/create/<route>`` of an uploaded SRPM or spec (multipart ``pkgs``)."""
    data = json_body()
    _project, request = _prepare(data)
    upload = flask.request.files.get("pkgs")
    if upload is None or not upload.filename:
        raise BadRequest("Missing the uploaded file: send it as the multipart part 'pkgs'")
    with stored_upload(upload, settings()) as source:
        build = request.submit(db.session(), login_required_user(), source)
    return _created([build])


def _register_create_routes() -> None:
    """``build/create/<route>`` of every source type in the registry."""
    for source in SOURCE_TYPES:
        if source.multipart:
            view = _create_from_upload
        else:
            view = functools.partial(_create_from_data, source)
        route(f"/build/create/{source.route}", methods=["POST"],
              endpoint=f"create_from_{source.name}")(require_login(view))  # fmt: skip


_register_create_routes()
