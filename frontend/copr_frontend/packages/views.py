"""Package pages: the project's packages, one package (its builds, rebuild, edit its
source, webhook rebuild), a new package per source type, and the monitor (packages by
chroots with the latest state and version).

The forms post the API v3 package fields and go through the API's parsers
(:func:`copr_frontend.builds.source_types.package_source` and the package options).
"""

from __future__ import annotations

from typing import Any

import flask
from flask_babel import gettext

from copr_common.enums import BuildSourceEnum
from copr_frontend import db
from copr_frontend.api.errors import BadRequest, Conflict
from copr_frontend.builds.logic import latest_chroot_builds, list_builds
from copr_frontend.builds.options import parse_build_request, source_or_400
from copr_frontend.builds.source_types import PACKAGE_SOURCE_TYPES, package_source
from copr_frontend.builds.submit_views import SOURCES, build_form_body
from copr_frontend.context import settings
from copr_frontend.packages import logic
from copr_frontend.packages.models import Package
from copr_frontend.packages.options import parse_package_options
from copr_frontend.projects.logic import get_project_dir
from copr_frontend.projects.models import Project
from copr_frontend.projects.views import before_arg
from copr_frontend.web.forms import FormErrors, collecting, render_form
from copr_frontend.web.routing import (
    project_rights,
    project_route,
    purl,
    require_admin,
    require_builder,
)

blueprint = flask.Blueprint("packages", __name__)

PACKAGE_OPTION_FIELDS = logic.OPTION_FIELDS


@project_route(blueprint, "/packages/")
def package_list(project: Project) -> Any:
    rows = logic.list_packages_with_latest(db.session(), project)
    return flask.render_template(
        "packages/list.html", project=project, rights=project_rights(project), rows=rows
    )


def _package_or_404(project: Project, name: str) -> Package:
    package = logic.get_package(db.session(), project, name)
    if package is None:
        flask.abort(
            404,
            gettext(
                "Package %(name)s does not exist in %(project)s.",
                name=name,
                project=project.full_name,
            ),
        )
    return package


@project_route(blueprint, "/package/<package>/")
def package_page(project: Project, package: str) -> Any:
    found = _package_or_404(project, package)
    builds, next_id = logic_builds(project, found)
    return flask.render_template(
        "packages/package.html",
        project=project,
        rights=project_rights(project),
        package=found,
        builds=builds,
        next_url=purl("packages.package_page", project, package=package, before=next_id)
        if next_id
        else None,
    )


def logic_builds(project: Project, package: Package) -> tuple[list[Any], int | None]:
    return list_builds(db.session(), project, package_name=package.name, before_id=before_arg())


def package_form_body(form: Any) -> dict[str, Any]:
    data = build_form_body(form)
    values = form.getlist("webhook_rebuild")
    if values:
        data["webhook_rebuild"] = "on" in values
    return data


def _save_package(project: Project, source_type: str, package: Package | None) -> Any:
    """Create or edit a package from the submitted form; errors go back to the form."""
    require_builder(project)
    errors = FormErrors()
    data = package_form_body(flask.request.form)
    known = ("package_name", *PACKAGE_OPTION_FIELDS, *SOURCES[source_type][1])
    session = db.session()
    with collecting(errors, known):
        name = package.name if package is not None else str(data.get("package_name") or "")
        if not name:
            raise BadRequest("Field 'package_name' is required")
        options = parse_package_options(data, timeout_max=settings().build_timeout_max)
        source = source_or_400(
            lambda: package_source(source_type, data, name, settings().dist_git_url)
        )
        if package is None:
            try:
                package = logic.add_package(session, project, name, *source, **options)
            except logic.DuplicatePackageError as error:
                raise Conflict(f"Field 'package_name': {error}") from None
            except logic.PackageError as error:
                raise BadRequest(f"Field 'package_name': {error}") from None
        else:
            package.source_type, package.source_json = source
            try:
                logic.set_options(package, **options)
            except logic.PackageError as error:
                raise BadRequest(str(error)) from None
        session.commit()
        flask.flash(gettext("Package %(name)s was saved.", name=name))
        return flask.redirect(purl("packages.package_page", project, package=name), code=303)
    return render_form(
        "packages/edit.html",
        errors,
        project=project,
        rights=project_rights(project),
        package=package,
        source_type=source_type,
        source_json=package.source_json
        if package is not None and package.source_type.label == source_type
        else {},
    )


def _check_type(source_type: str) -> None:
    if source_type not in PACKAGE_SOURCE_TYPES:
        flask.abort(404, gettext("Unknown source type %(type)s.", type=source_type))


@project_route(blueprint, "/package/new/<source_type>/", methods=["GET", "POST"])
def new_package(project: Project, source_type: str) -> Any:
    _check_type(source_type)
    if flask.request.method == "POST":
        return _save_package(project, source_type, None)
    require_builder(project)
    return render_form(
        "packages/edit.html", FormErrors(), project=project, rights=project_rights(project),
        package=None, source_type=source_type, source_json={},
    )  # fmt: skip


@project_route(blueprint, "/package/<package>/edit/<source_type>/", methods=["GET", "POST"])
def edit_package(project: Project, package: str, source_type: str) -> Any:
    _check_type(source_type)
    found = _package_or_404(project, package)
    if flask.request.method == "POST":
        return _save_package(project, source_type, found)
    require_builder(project)
    return render_form(
        "packages/edit.html", FormErrors(), project=project, rights=project_rights(project),
        package=found, source_type=source_type,
        source_json=found.source_json if found.source_type.label == source_type else {},
    )  # fmt: skip


@project_route(blueprint, "/package/<package>/rebuild/", methods=["GET", "POST"])
def rebuild(project: Project, package: str) -> Any:
    found = _package_or_404(project, package)
    user = require_builder(project)
    errors = FormErrors()
    if flask.request.method == "POST":
        data = build_form_body(flask.request.form)
        session = db.session()
        with collecting(
            errors,
            (
                "chroots",
                "timeout",
                "enable_net",
                "background",
                "bootstrap",
                "isolation",
                "after_build_id",
                "with_build_id",
                "project_dirname",
            ),
        ):
            if found.source_type == BuildSourceEnum.unset:
                raise BadRequest(f"Package {found.name} has no source: edit it first")
            if found.timeout is not None and not data.get("timeout"):
                data["timeout"] = found.timeout
            request = parse_build_request(
                session, project, data, settings(), denylist=found.chroot_denylist
            )
            build = request.submit(
                session, user, (found.source_type, dict(found.source_json)), package=found
            )
            session.commit()
            flask.flash(gettext("Build %(ids)s was submitted.", ids=build.id))
            return flask.redirect(purl("builds.build_page", project, build_id=build.id), code=303)
    return render_form(
        "packages/rebuild.html", errors, project=project, rights=project_rights(project),
        package=found, kind="rebuild",
        default_timeout=found.timeout or settings().build_timeout_default,
    )  # fmt: skip


@project_route(blueprint, "/package/<package>/delete/", methods=["POST"])
def delete_package(project: Project, package: str) -> Any:
    found = _package_or_404(project, package)
    require_admin(project)
    session = db.session()
    try:
        logic.delete_package(session, found)
    except logic.PackageError as error:
        session.rollback()
        flask.flash(str(error), "error")
        return flask.redirect(purl("packages.package_page", project, package=package), code=303)
    session.commit()
    flask.flash(gettext("Package %(name)s was deleted.", name=package))
    return flask.redirect(purl("packages.package_list", project), code=303)


@project_route(blueprint, "/monitor/")
def monitor(project: Project) -> Any:
    dirname = flask.request.args.get("dirname") or project.name
    project_dir = get_project_dir(db.session(), project, dirname)
    if project_dir is None:
        flask.abort(
            404,
            gettext(
                "Project %(project)s has no directory %(dir)s.",
                project=project.full_name,
                dir=dirname,
            ),
        )
    rows = latest_chroot_builds(db.session(), project_dir)
    chroots = [c.name for c in project.active_chroots]
    return flask.render_template(
        "packages/monitor.html", project=project, rights=project_rights(project), rows=rows,
        chroots=chroots, dirs=[d.name for d in project.dirs], dirname=dirname,
    )  # fmt: skip
