"""API v3 ``/project-chroot/...``: a chroot's configuration in a project.

``edit`` is multipart (a ``json`` part, optionally an ``upload_comps`` file) as copr-cli
sends it; a JSON body works as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.auth import require_login
from copr_frontend.api.lookup import project_or_404, require_admin
from copr_frontend.api.params import get_params, json_body
from copr_frontend.context import settings
from copr_frontend.projects.build_config import chroot_build_config, project_chroot_config_json
from copr_frontend.projects.logic import project_chroot
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.projects.serialize import project_chroot_to_json
from copr_frontend.validation import to_bool, to_choice, to_list

CHROOT_BOOTSTRAP = ("unchanged", "default", "on", "off", "image", "custom_image")
CHROOT_ISOLATION = ("unchanged", "default", "simple", "nspawn")
MAX_COMPS_SIZE = 5 * 1024 * 1024

# API name → (column, default) of the fields ``reset_fields`` may name.
RESETTABLE: dict[str, tuple[str, Callable[[], Any]]] = {
    "additional_packages": ("buildroot_pkgs", list),
    "additional_repos": ("repos", list),
    "additional_modules": ("module_toggle", list),
    "with_opts": ("with_opts", list),
    "without_opts": ("without_opts", list),
    "isolation": ("isolation", lambda: "unchanged"),
    "bootstrap": ("bootstrap", lambda: "unchanged"),
    "bootstrap_image": ("bootstrap_image", lambda: None),
    "comps_name": ("comps_name", lambda: None),
}


def _project_chroot(params: dict[str, Any]) -> ProjectChroot:
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    name = params.get("chrootname")
    if not name:
        raise BadRequest("Missing required parameter 'chrootname'")
    copr_chroot = project_chroot(project, str(name))
    if copr_chroot is None:
        raise ObjectNotFound(f"Chroot {name} is not enabled in project {project.full_name}")
    return copr_chroot


@route("/project-chroot")
def get_project_chroot() -> flask.Response:
    return flask.jsonify(project_chroot_to_json(_project_chroot(get_params())))


@route("/project-chroot/build-config")
def get_build_config() -> flask.Response:
    copr_chroot = _project_chroot(get_params())
    config = chroot_build_config(
        db.session(), copr_chroot.project, copr_chroot, copr_chroot.name, settings()
    )
    return flask.jsonify(project_chroot_config_json(config))


@route(
    "/project-chroot/edit/<ownername>/<projectname>/<chrootname>",
    "/project-chroot/edit",
    methods=["PUT"],
)
@require_login
def edit_project_chroot(**_path: Any) -> flask.Response:
    params = get_params()
    copr_chroot = _project_chroot(params)
    require_admin(copr_chroot.project)
    data = json_body()
    for field in to_list(data.get("reset_fields"), "reset_fields") or []:
        if field not in RESETTABLE:
            # Copr's message, and where to see the names.
            full_name = f"{copr_chroot.project.full_name}/{copr_chroot.name}"
            raise BadRequest(
                f"Trying to reset an invalid attribute: {field}\n"
                f"See `copr-cli get-chroot {full_name}' for all the possible attributes "
                f"({', '.join(sorted(RESETTABLE))})"
            )
        column, default = RESETTABLE[field]
        setattr(copr_chroot, column, default())
        if field == "comps_name":
            copr_chroot.comps = None
    for api_name, column in (
        ("additional_packages", "buildroot_pkgs"),
        ("additional_repos", "repos"),
        ("additional_modules", "module_toggle"),
        ("with_opts", "with_opts"),
        ("without_opts", "without_opts"),
    ):
        values = to_list(data.get(api_name), api_name)
        if values is not None:
            setattr(copr_chroot, column, values)
    bootstrap = to_choice(data.get("bootstrap"), "bootstrap", CHROOT_BOOTSTRAP)
    image = data.get("bootstrap_image")
    if bootstrap is not None:
        copr_chroot.bootstrap = "image" if bootstrap == "custom_image" else bootstrap
    if image:
        if not isinstance(image, str) or len(image) > 300:
            raise BadRequest("Field 'bootstrap_image' must be an image name")
        copr_chroot.bootstrap_image = image
        copr_chroot.bootstrap = "image"
    isolation = to_choice(data.get("isolation"), "isolation", CHROOT_ISOLATION)
    if isolation is not None:
        copr_chroot.isolation = isolation
    if to_bool(data.get("delete_comps"), "delete_comps"):
        copr_chroot.comps = None
        copr_chroot.comps_name = None
    comps = flask.request.files.get("upload_comps")
    if comps is not None and comps.filename:
        content = comps.stream.read(MAX_COMPS_SIZE + 1)
        if len(content) > MAX_COMPS_SIZE:
            raise BadRequest(f"The comps file is larger than {MAX_COMPS_SIZE} bytes")
        try:
            text = content.decode()
        except UnicodeDecodeError:
            raise BadRequest("The comps file must be UTF-8 XML") from None
        if "<comps" not in text:
            raise BadRequest("The comps file is not a comps.xml document")
        copr_chroot.comps = text
        copr_chroot.comps_name = comps.filename[:200]
    db.session().commit()
    return flask.jsonify(project_chroot_to_json(copr_chroot))
