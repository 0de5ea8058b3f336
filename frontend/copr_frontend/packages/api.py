"""API v3 ``/package/...``: read packages, add and edit their source, reset, build and
delete them.

Builders of a project may add, edit, reset and build its packages; deleting one (with
its builds) takes an admin.
"""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import select

from copr_common.enums import BuildSourceEnum
from copr_frontend import db
from copr_frontend.api import BadRequest, Conflict, ObjectNotFound, route
from copr_frontend.api.auth import require_login
from copr_frontend.api.lookup import (
    conflict_on_duplicate,
    project_or_404,
    require_admin,
    require_builder,
)
from copr_frontend.api.params import get_params, json_body, page_of
from copr_frontend.builds.options import parse_build_request, source_or_400
from copr_frontend.builds.serialize import build_to_json
from copr_frontend.builds.source_types import package_source, package_source_type
from copr_frontend.builds.uploads import UNREPEATABLE
from copr_frontend.context import settings
from copr_frontend.packages import logic
from copr_frontend.packages.logic import DuplicatePackageError, PackageError
from copr_frontend.packages.models import Package
from copr_frontend.packages.options import parse_package_options
from copr_frontend.packages.serialize import package_to_json, packages_to_json
from copr_frontend.projects.models import Project
from copr_frontend.validation import to_bool


def _package_or_404(project: Project, name: Any) -> Package:
    if not name:
        raise BadRequest("Missing required parameter 'package_name'")
    package = logic.get_package(db.session(), project, str(name))
    if package is None:
        raise ObjectNotFound(f"No package with name {name} in project {project.full_name}")
    return package


@route("/package")
def get_package() -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    package = _package_or_404(project, params.get("packagename"))
    return flask.jsonify(
        package_to_json(
            package,
            bool(to_bool(params.get("with_latest_build"), "with_latest_build")),
            bool(to_bool(params.get("with_latest_succeeded_build"), "with_latest_succeeded_build")),
        )
    )


@route("/package/list")
def package_list() -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    latest = bool(to_bool(params.get("with_latest_build"), "with_latest_build"))
    succeeded = bool(
        to_bool(params.get("with_latest_succeeded_build"), "with_latest_succeeded_build")
    )
    query = select(Package).where(Package.project_id == project.id)
    packages, meta = page_of(
        db.session(), query, params, orderable={"id": Package.id, "name": Package.name}
    )
    return flask.jsonify({"items": packages_to_json(packages, latest, succeeded), "meta": meta})


@route(
    "/package/add/<ownername>/<projectname>/<package_name>/<source_type_text>",
    "/package/add",
    methods=["POST"],
)
@require_login
def add_package(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_builder(project)
    data = json_body()
    name = params.get("package_name") or ""
    type_text = params.get("source_type_text") or ""
    if not name or not type_text:
        raise BadRequest("Missing required parameters 'package_name' and 'source_type_text'")
    options = parse_package_options(data, timeout_max=settings().build_timeout_max)
    source = source_or_400(lambda: package_source(type_text, data, name, settings().dist_git_url))
    session = db.session()
    with conflict_on_duplicate(f"Package {name} in {project.full_name}"):
        try:
            package = logic.add_package(session, project, name, *source, **options)
        except DuplicatePackageError as error:
            raise Conflict(str(error)) from None
        except PackageError as error:
            raise BadRequest(str(error)) from None
        session.commit()
    return flask.jsonify(package_to_json(package))


@route(
    "/package/edit/<ownername>/<projectname>/<package_name>/<source_type_text>",
    "/package/edit/<ownername>/<projectname>/<package_name>",
    "/package/edit",
    methods=["PUT"],
)
@require_login
def edit_package(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_builder(project)
    package = _package_or_404(project, params.get("package_name"))
    data = json_body()
    type_text = params.get("source_type_text") or package.source_type.label
    given = {k: v for k, v in data.items() if v is not None}
    if type_text == package.source_type.label:
        # Fields not sent keep their values: an edit changes only what it names.  The
        # stored keys go back under their input names, and a field copr-cli sends under
        # another name (custom's script_*) replaces the stored one.
        source = source_or_400(lambda: package_source_type(type_text))
        stored = {source.stored_as.get(k, k): v for k, v in package.source_json.items()}
        for alias, name in source.aliases.items():
            if alias in given:
                stored.pop(name, None)
        given = {**stored, **given}
    options = parse_package_options(data, timeout_max=settings().build_timeout_max)
    source_type, source_json = source_or_400(
        lambda: package_source(type_text, given, package.name, settings().dist_git_url)
    )
    package.source_type = source_type
    package.source_json = source_json
    try:
        logic.set_options(package, **options)
    except PackageError as error:
        raise BadRequest(str(error)) from None
    db.session().commit()
    return flask.jsonify(package_to_json(package))


def _package_from_body() -> tuple[Project, Package, dict[str, Any]]:
    data = json_body()
    project = project_or_404(data.get("ownername"), data.get("projectname"))
    return project, _package_or_404(project, data.get("package_name")), data


@route("/package/reset", methods=["PUT"])
@require_login
def reset_package() -> flask.Response:
    project, package, _data = _package_from_body()
    require_builder(project)
    logic.reset_package(package)
    db.session().commit()
    return flask.jsonify(package_to_json(package))


@route("/package/build", methods=["POST"])
@require_login
def build_package() -> flask.Response:
    project, package, data = _package_from_body()
    user = require_builder(project)
    if package.source_type == BuildSourceEnum.unset:
        raise BadRequest(f"Package {package.name} has no source: set one with edit-package-* first")
    if package.source_type == BuildSourceEnum.rpm_upload:
        raise BadRequest(UNREPEATABLE.format(name=f"Package {package.name}"))
    session = db.session()
    if package.timeout is not None and data.get("timeout") in (None, ""):
        data = {**data, "timeout": package.timeout}
    request = parse_build_request(
        session, project, data, settings(), denylist=package.chroot_denylist
    )
    build = request.submit(
        session, user, (package.source_type, dict(package.source_json)), package=package
    )
    session.commit()
    return flask.jsonify(build_to_json(build))


@route("/package/delete", methods=["DELETE"])
@require_login
def delete_package() -> flask.Response:
    project, package, _data = _package_from_body()
    require_admin(project)
    result = package_to_json(package)
    try:
        logic.delete_package(db.session(), package)
    except PackageError as error:
        raise Conflict(str(error)) from None
    db.session().commit()
    return flask.jsonify(result)
