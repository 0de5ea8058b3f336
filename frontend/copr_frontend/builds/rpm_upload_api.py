"""API v3 ``/build/create/rpm-upload``: publish an already-built RPM into one chroot.

What ``copr-cli uploadrpm`` and python-copr's ``create_from_rpm_upload`` send: a multipart
request with one ``pkgs`` file and a ``json`` part (``ownername``, ``projectname``,
``project_dirname`` and the build options).  No SRPM is built and nothing is imported:
the build's source is ``succeeded`` at once and its one chroot ``pending``; the builder
downloads the RPM from ``/tmp/<dir>/<file>`` (the task's ``prebuilt_rpm_urls``), checks
it, and the backend signs it with the project's key and adds it to the chroot's
repository like any built package.

The chroot is ``chroot`` (Copr's field), else the one chroot that ``chroots`` (copr-cli's
``-r``) selects, else the project's only chroot.  The RPM must be a binary package for
that chroot's architecture (or ``noarch``).  Such a build cannot be rebuilt: the upload
is removed once the build has ended.  Off unless the frontend's ``direct_rpm_upload``
setting is on, as in Copr.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

import flask
from werkzeug.utils import secure_filename

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.lookup import conflict_on_duplicate
from copr_frontend.api.params import json_body
from copr_frontend.builds.models import Build
from copr_frontend.builds.rpmheader import RpmHeaderError, RpmIdentity, read_identity
from copr_frontend.builds.states import refresh_state
from copr_frontend.builds.submit import created, prepare
from copr_frontend.builds.uploads import store_upload
from copr_frontend.context import settings
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.logic import PackageError, add_package, get_package
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.validation import to_text

SOURCE_SUFFIXES = (".src.rpm", ".nosrc.rpm")


def _chroot(project: Project, data: dict[str, Any], selected: list[MockChroot]) -> MockChroot:
    active = [c.mock_chroot for c in project.active_chroots]
    enabled = ", ".join(c.name for c in active) or "none"
    named = to_text(data.get("chroot"), "chroot", max_length=100)
    if named:
        found = next((c for c in active if c.name == named), None)
        if found is None:
            raise BadRequest(
                f"Chroot {named} is not enabled in {project.full_name} (enabled: {enabled})"
            )
        return found
    if len(selected) != 1:
        raise BadRequest(
            "An uploaded RPM is published into one chroot: name it with 'chroot' (copr-cli "
            f"uploadrpm -r CHROOT); {project.full_name} has {enabled}"
        )
    return selected[0]


def _identity(token: str, name: str) -> RpmIdentity:
    path = settings().upload_dir.absolute() / token / name
    try:
        with path.open("rb") as file:
            identity = read_identity(file)
    except RpmHeaderError as error:
        raise BadRequest(f"The uploaded file {name!r} is not a readable RPM: {error}") from None
    if identity.is_source:
        raise BadRequest(
            f"The uploaded file {name!r} is a source RPM: build it with copr-cli build instead"
        )
    return identity


def _package(project: Project, identity: RpmIdentity, source: dict[str, Any]) -> Package:
    session = db.session()
    package = get_package(session, project, identity.name)
    if package is not None:
        return package
    try:
        with conflict_on_duplicate(f"Package {identity.name}"):
            return add_package(session, project, identity.name, BuildSourceEnum.rpm_upload, source)
    except PackageError as error:
        raise BadRequest(str(error)) from None


@route("/build/create/rpm-upload", methods=["POST"])
@require_login
def create_from_rpm_upload() -> flask.Response:
    if not settings().direct_rpm_upload:
        # Copr has no such route then: a 404, whose message says why.
        raise ObjectNotFound(
            "Direct RPM upload is disabled on this Copr instance (frontend setting "
            "direct_rpm_upload): build from sources instead"
        )
    data = json_body()
    project, request = prepare(data)
    chroot = _chroot(project, data, request.chroots)
    files = flask.request.files.getlist("pkgs")
    if not files or not files[0].filename:
        raise BadRequest("Missing the uploaded RPM: send it as the multipart part 'pkgs'")
    if len(files) > 1:
        raise BadRequest(f"Upload one RPM per request, not {len(files)}")
    upload = files[0]
    name = secure_filename(upload.filename or "")
    if name in ("", ".rpm") or not name.endswith(".rpm") or name.endswith(SOURCE_SUFFIXES):
        raise BadRequest(f"File {upload.filename!r} is not accepted: upload a binary .rpm")
    token, stored = store_upload(upload, name, settings())
    try:
        identity = _identity(token, stored)
        if identity.arch not in ("noarch", chroot.arch):
            raise BadRequest(
                f"The uploaded RPM is built for {identity.arch}: it cannot be published "
                f"into {chroot.name}"
            )
        source = {"tmp": token, "files": [stored]}
        package = _package(project, identity, source)
        one_chroot = dataclasses.replace(request, chroots=[chroot], excluded=[])
        build = one_chroot.submit(
            db.session(),
            login_required_user(),
            (BuildSourceEnum.rpm_upload, source),
            package=package,
            pkg_version=identity.evr,
        )
        _published_as_is(build)
        return created([build])
    except BaseException:
        shutil.rmtree(settings().upload_dir.absolute() / token, ignore_errors=True)
        raise


def _published_as_is(build: Build) -> None:
    """No source build and no import: the chroot task is ready to run."""
    build.source_status = StatusEnum.succeeded
    for chroot in build.chroots:
        chroot.status = StatusEnum.pending
    refresh_state(build)
