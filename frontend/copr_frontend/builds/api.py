"""API v3 ``/build/...``: read builds, submit them from every kind of source, cancel
and delete them (one, a list, or all of a project's queued builds).

Every ``create/*`` route reads the shared build options (:mod:`.options`), checks that
the caller may build in the project before it reads any source (an upload is only
stored after that), and answers with the build's JSON (``create/url`` with a list).
"""

from __future__ import annotations

import functools

import flask
from sqlalchemy import select

from copr_common.names import srpm_build_dir
from copr_frontend import db
from copr_frontend.api import ApiError, BadRequest, Conflict, ObjectNotFound, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.lookup import build_or_404, project_or_404, require_builder
from copr_frontend.api.params import get_params, json_body, page_of
from copr_frontend.builds import sources
from copr_frontend.builds.cancellation import (
    CancelError,
    cancel_builds,
    cancel_pending,
    cancel_wave_builds,
)
from copr_frontend.builds.dependents import wave_builds
from copr_frontend.builds.models import Build, RebuildWave
from copr_frontend.builds.options import source_or_400
from copr_frontend.builds.removal import BuildRemovalError, delete_build
from copr_frontend.builds.serialize import (
    build_to_json,
    builds_to_json,
    built_packages,
    repo_url,
    wave_to_json,
)
from copr_frontend.builds.source_types import SOURCE_TYPES, SourceType, build_source
from copr_frontend.builds.submit import created, prepare
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.builds.uploads import forget_upload, stored_upload
from copr_frontend.context import settings
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.validation import MAX_INT, to_int, to_list, to_status

# --- reading ------------------------------------------------------------------------------


@route("/build/<int:build_id>", "/build")
def get_build(build_id: int | None = None) -> flask.Response:
    return flask.jsonify(build_to_json(build_or_404(get_params().get("build_id"))))


@route("/build/list")
def build_list() -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    query = select(Build.id).where(Build.project_id == project.id)
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
    session = db.session()
    build_ids, meta = page_of(session, query, params, orderable=orderable)
    return flask.jsonify({"items": builds_to_json(session, build_ids), "meta": meta})


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
    forget_upload(build)
    return flask.jsonify(build_to_json(build))


def _build_ids(body: dict[str, object]) -> list[int]:
    """The ``builds`` list of a ``*/list`` body, checked, each id once."""
    ids = body.get("builds")
    if not isinstance(ids, list) or not ids:
        raise BadRequest("Field 'builds' must be a non-empty list of build ids")
    return list(dict.fromkeys(to_int(i, "builds", required=True) for i in ids))


def _wave_or_404(wave_id: int) -> RebuildWave:
    session = db.session()
    wave = session.get(RebuildWave, wave_id) if 0 < wave_id <= MAX_INT else None
    if wave is None:
        raise ObjectNotFound(f"Rebuild wave {wave_id} does not exist")
    return wave


@route("/build/wave/<int:wave_id>")
def get_wave(wave_id: int) -> flask.Response:
    """A rebuild wave (:mod:`.dependents`): what started it, its builds, the cycles it broke."""
    wave = _wave_or_404(wave_id)
    return flask.jsonify(wave_to_json(wave, wave_builds(db.session(), wave)))


@route("/build/cancel-wave/<int:wave_id>", methods=["PUT"])
@require_login
def cancel_wave(wave_id: int) -> flask.Response:
    """Cancel every build of a rebuild wave (:mod:`.dependents`) that has not ended;
    403 unless the caller may build in the project whose build started the wave.
    """
    wave = _wave_or_404(wave_id)
    require_builder(wave.project)
    session = db.session()
    builds = cancel_wave_builds(session, wave)
    session.commit()
    return flask.jsonify({"wave_id": wave.id, "builds": [b.id for b in builds]})


@route("/build/cancel/list", methods=["PUT"])
@require_login
def cancel_list() -> flask.Response:
    """Cancel every listed build or none: 404 for an unknown id, 403 for a build the
    caller may not build in, 409 for one that has already ended.
    """
    login_required_user()
    builds = [build_or_404(i) for i in _build_ids(json_body())]
    for build in builds:
        require_builder(build.project)
    session = db.session()
    try:
        canceled = cancel_builds(session, builds)
    except CancelError as error:
        raise Conflict(str(error)) from None
    session.commit()
    for build in builds:
        forget_upload(build)
    return flask.jsonify({"builds": canceled})


@route(
    "/project/cancel-pending/<ownername>/<projectname>",
    "/project/cancel-pending",
    methods=["PUT"],
)
@require_login
def cancel_pending_builds(**_path: str) -> flask.Response:
    """Cancel the project's builds no builder has taken yet; their ids."""
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_builder(project)
    session = db.session()
    builds = cancel_pending(session, project)
    session.commit()
    for build in builds:
        forget_upload(build)
    return flask.jsonify({"builds": [b.id for b in builds]})


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
    builds = [build_or_404(i) for i in _build_ids(json_body())]
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


def _create_from_data(source: SourceType) -> flask.Response:
    """A ``build/create/<route>`` of a source parsed from the JSON body."""
    data = json_body()
    _project, request = prepare(data)
    dist_git = settings().dist_git_url
    user = login_required_user()
    if source.batch_field is None:
        parsed = source_or_400(lambda: build_source(source, data, dist_git))
        return created([request.submit(db.session(), user, parsed)])
    # One build per listed source (create/url's pkgs), all checked before any is stored.
    items = to_list(data.get(source.batch_field), source.batch_field)
    if not items:
        raise BadRequest(
            f"Field {source.batch_field!r} must name at least one URL of a .src.rpm or .spec file"
        )
    batch = [source_or_400(lambda u=u: build_source(source, {"url": u}, dist_git)) for u in items]
    return created([request.submit(db.session(), user, one) for one in batch], as_list=True)


def _create_from_upload() -> flask.Response:
    """A ``build/create/<route>`` of an uploaded SRPM or spec (multipart ``pkgs``)."""
    data = json_body()
    _project, request = prepare(data)
    upload = flask.request.files.get("pkgs")
    if upload is None or not upload.filename:
        raise BadRequest("Missing the uploaded file: send it as the multipart part 'pkgs'")
    with stored_upload(upload, settings()) as source:
        build = request.submit(db.session(), login_required_user(), source)
    return created([build])


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
