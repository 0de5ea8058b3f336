"""``…/add_build/``: one form per source (upload, URL, SCM, PyPI, RubyGems, custom script,
dist-git), each with every build option.

A form posts the API v3 ``build/create/*`` field names, and the page goes through the
same parsers (:func:`~copr_frontend.builds.options.parse_build_request` and
:mod:`copr_frontend.builds.source_types`), so it refuses what the API refuses, with the same
message next to the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from flask_babel import gettext, lazy_gettext

from copr_common.enums import BuildSourceEnum
from copr_frontend import db
from copr_frontend.api.errors import BadRequest
from copr_frontend.builds.models import Build
from copr_frontend.builds.options import (
    BUILD_BOOTSTRAP,
    BUILD_ISOLATION,
    parse_build_request,
    source_or_400,
)
from copr_frontend.builds.source_types import BY_ROUTE, build_source
from copr_frontend.builds.uploads import stored_upload
from copr_frontend.context import settings
from copr_frontend.projects.models import Project
from copr_frontend.web.forms import FormErrors, collecting, form_data, render_form
from copr_frontend.web.routing import project_rights, project_route, purl, require_builder

blueprint = flask.Blueprint("submit", __name__)

OPTION_FIELDS = (
    "chroots", "exclude_chroots", "timeout", "enable_net", "background", "bootstrap",
    "isolation", "after_build_id", "with_build_id", "project_dirname",
)  # fmt: skip

# source key → (title, the fields of its form)
SOURCES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "upload": (lazy_gettext("Upload an SRPM or spec file"), ("pkgs",)),
    "url": (lazy_gettext("From URLs"), ("pkgs",)),
    "scm": (
        lazy_gettext("From a git or svn repository (SCM)"),
        ("scm_type", "clone_url", "committish", "subdirectory", "spec", "source_build_method"),
    ),
    "pypi": (
        lazy_gettext("From PyPI"),
        ("pypi_package_name", "pypi_package_version", "spec_generator", "spec_template",
         "python_versions"),
    ),
    "rubygems": (lazy_gettext("From RubyGems"), ("gem_name",)),
    "custom": (
        lazy_gettext("Custom script"), ("script", "chroot", "builddeps", "resultdir", "repos")
    ),
    "distgit": (
        lazy_gettext("From dist-git"), ("package_name", "distgit", "namespace", "committish")
    ),
}  # fmt: skip


def build_form_body(form: Any) -> dict[str, Any]:
    data = form_data(form, lists=("chroots", "python_versions"))
    for name in ("enable_net", "background"):
        values = form.getlist(name)
        if values:
            data[name] = "on" in values
    return data


def _parse_source(
    kind: str, data: dict[str, Any]
) -> Callable[[], tuple[BuildSourceEnum, dict[str, Any]]]:
    source = BY_ROUTE[kind]
    return lambda: build_source(source, data, settings().dist_git_url)


def _submit(project: Project, kind: str, data: dict[str, Any]) -> list[Build]:
    session = db.session()
    user = require_builder(project)
    request = parse_build_request(session, project, data, settings())
    if kind == "url":
        urls = [u for u in str(data.get("pkgs") or "").split() if u]
        if not urls:
            raise BadRequest("Field 'pkgs' must name at least one URL of a .src.rpm or .spec file")
        link = BY_ROUTE["url"]
        dist_git = settings().dist_git_url
        parsed = [source_or_400(lambda u=u: build_source(link, {"url": u}, dist_git)) for u in urls]
        return [request.submit(session, user, source) for source in parsed]
    if kind == "upload":
        upload = flask.request.files.get("pkgs")
        if upload is None or not upload.filename:
            raise BadRequest("Field 'pkgs': choose a .src.rpm or .spec file to upload")
        with stored_upload(upload, settings()) as source:
            return [request.submit(session, user, source)]
    if kind == "distgit" and not data.get("package_name"):
        raise BadRequest("Missing required field 'package_name'")
    return [request.submit(session, user, source_or_400(_parse_source(kind, data)))]


@project_route(blueprint, "/add_build/")
def add_build(project: Project) -> Any:
    require_builder(project)
    return flask.render_template(
        "builds/add_build.html", project=project, rights=project_rights(project), sources=SOURCES
    )


def _source_page(project: Project, kind: str) -> Any:
    require_builder(project)
    errors = FormErrors()
    if flask.request.method == "POST":
        data = build_form_body(flask.request.form)
        with collecting(errors, OPTION_FIELDS + SOURCES[kind][1]):
            builds = _submit(project, kind, data)
            db.session().commit()
            flask.flash(
                gettext("Build %(ids)s was submitted.", ids=", ".join(str(b.id) for b in builds))
            )
            if len(builds) == 1:
                return flask.redirect(
                    purl("builds.build_page", project, build_id=builds[0].id), code=303
                )
            return flask.redirect(purl("builds.project_builds", project), code=303)
    return render_form(
        f"builds/add_build_{kind}.html",
        errors,
        project=project,
        rights=project_rights(project),
        kind=kind,
        title=SOURCES[kind][0],
        bootstrap_choices=BUILD_BOOTSTRAP,
        isolation_choices=BUILD_ISOLATION,
        default_timeout=settings().build_timeout_default,
    )


def _register(kind: str) -> None:
    def view(project: Project) -> Any:
        return _source_page(project, kind)

    view.__name__ = f"add_build_{kind}"
    project_route(blueprint, f"/add_build_{kind}/", methods=["GET", "POST"])(view)
    # Copr posts the forms to new_build_<source>/; accept that path as well.
    project_route(blueprint, f"/new_build_{kind}/", methods=["POST"], endpoint=f"new_build_{kind}")(
        view
    )


for _kind in SOURCES:
    _register(_kind)
