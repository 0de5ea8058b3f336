"""API v3 ``/project/...``: read, search, create, edit, fork and delete projects,
regenerate their repositories and renew their webhook secret.

Who may do what: anyone reads; a user creates projects in their own name or in a
group they belong to; the owner (any member of an owning group), the project's admins
and site admins edit, delete and regenerate; only site admins may make a project
``persistent`` or turn ``auto_prune`` off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any
from urllib.parse import SplitResult, urlsplit

import flask
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import AccessRestricted, BadRequest, Conflict, ObjectNotFound, route
from copr_frontend.api.auth import login_required_user, require_login
from copr_frontend.api.form import FieldErrors
from copr_frontend.api.lookup import conflict_on_duplicate, project_or_404, require_admin
from copr_frontend.api.params import get_params, json_body, paginate
from copr_frontend.builds.dependents import MODES as REBUILD_MODES
from copr_frontend.context import settings
from copr_frontend.db import now
from copr_frontend.mockchroots.logic import list_chroots
from copr_frontend.projects import logic
from copr_frontend.projects.logic import ProjectError
from copr_frontend.projects.models import Project
from copr_frontend.projects.serialize import PROJECT_JSON_LOADS, project_to_json
from copr_frontend.users.logic import get_group, get_user, is_member
from copr_frontend.users.models import Group, User
from copr_frontend.validation import to_bool, to_choice, to_int, to_list, to_text

PROJECT_BOOTSTRAP = ("default", "on", "off", "image")
PROJECT_ISOLATION = ("default", "simple", "nspawn")
REPO_SCHEMES = ("http", "https", "copr")
MAX_DELETE_AFTER_DAYS = 60
MAX_KEEP_BUILDS = 1000
MAX_QUERY_LENGTH = 200
_DAY = 24 * 3600

_TEXT_FIELDS = {"description": 100_000, "instructions": 100_000, "homepage": 1000, "contact": 1000}
_BOOL_FIELDS = (
    "unlisted_on_hp",
    "enable_net",
    "persistent",
    "auto_prune",
    "devel_mode",
    "module_hotfixes",
    "appstream",
    "follow_fedora_branching",
    "fedora_review",
    "require_real_buildroot",
    "rpmlint_fail_on_errors",
    "email_notifications",
)
ORDERABLE = {"id": Project.id, "name": Project.name, "ownername": Project.ownername}


# --- input ----------------------------------------------------------------------------------


def _split_url(url: str, name: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        raise BadRequest(f"Field {name!r}: {url!r} is not a valid URL") from None


def _repo_urls(value: Any, name: str) -> list[str] | None:
    urls = to_list(value, name)
    if urls is None:
        return None
    for url in urls:
        parts = _split_url(url, name)
        if parts.scheme not in REPO_SCHEMES or not (parts.netloc or parts.path.strip("/")):
            raise BadRequest(
                f"Field {name!r}: {url!r} is not a repository URL (http://, https:// "
                "or copr://owner/project)"
            )
    return urls


def project_fields(
    data: Mapping[str, Any], user: User, errors: FieldErrors | None = None
) -> dict[str, Any]:
    """Project columns from the request's fields; absent (or null) fields are left out.

    Problems go to ``errors`` (all of them, each with its field); without it, the first
    one is raised.
    """
    found = FieldErrors() if errors is None else errors
    fields: dict[str, Any] = {}

    def field(name: str, convert: Callable[[], Any], column: str | None = None) -> None:
        with found.field(name):
            value = convert()
            if value is not None:
                fields[column or name] = value

    for name, limit in _TEXT_FIELDS.items():
        field(name, partial(to_text, data.get(name), name, max_length=limit))
    with found.field("homepage"):
        homepage = fields.get("homepage")
        if homepage and _split_url(homepage, "homepage").scheme not in ("http", "https"):
            raise BadRequest("Field 'homepage' must be an http:// or https:// URL")
    for name in _BOOL_FIELDS:
        field(name, partial(to_bool, data.get(name), name))
    if "devel_mode" not in fields:
        field(
            "disable_createrepo",
            lambda: to_bool(data.get("disable_createrepo"), "disable_createrepo"),
            "devel_mode",
        )
    repos = data.get("additional_repos", data.get("repos"))
    field("additional_repos", lambda: _repo_urls(repos, "additional_repos"))
    field(
        "runtime_dependencies",
        lambda: _repo_urls(data.get("runtime_dependencies"), "runtime_dependencies"),
    )
    field(
        "packit_forge_projects_allowed",
        lambda: to_list(data.get("packit_forge_projects_allowed"), "packit_forge_projects_allowed"),
    )
    field("bootstrap", lambda: to_choice(data.get("bootstrap"), "bootstrap", PROJECT_BOOTSTRAP))
    field("isolation", lambda: to_choice(data.get("isolation"), "isolation", PROJECT_ISOLATION))
    field(
        "rebuild_dependents",
        lambda: to_choice(data.get("rebuild_dependents"), "rebuild_dependents", REBUILD_MODES),
    )
    field(
        "repo_priority",
        lambda: to_int(data.get("repo_priority"), "repo_priority", minimum=1, maximum=99),
    )
    with found.field("delete_after_days"):
        days = to_int(
            data.get("delete_after_days"),
            "delete_after_days",
            minimum=-1,
            maximum=MAX_DELETE_AFTER_DAYS,
        )
        if days is not None:
            # -1 (and 0 from old clients editing) turns the expiry off.
            fields["delete_after"] = now() + days * _DAY if days > 0 else None
    with found.field("keep_builds"):
        keep = to_int(data.get("keep_builds"), "keep_builds", minimum=0, maximum=MAX_KEEP_BUILDS)
        if keep is not None:
            # 0 turns the limit off (null means "leave it as it is", as for every field).
            fields["keep_builds"] = keep or None
    storage = data.get("storage")
    if storage not in (None, "", "backend"):
        found.add("storage", f"must be 'backend' (the only storage here), got {storage!r}")
    if not user.admin:
        if fields.get("persistent"):
            found.add("persistent", "Only site admins may create persistent projects", 403)
        if fields.get("auto_prune") is False:
            found.add("auto_prune", "Only site admins may turn off auto-pruning of a project", 403)
    if errors is None:
        found.check()
    return fields


def _apply_bootstrap_image(project: Project, data: Mapping[str, Any]) -> None:
    """A project-wide ``bootstrap_image`` goes to each enabled chroot (where builds read
    it) and switches the project to ``bootstrap=image``.
    """
    image = to_text(data.get("bootstrap_image"), "bootstrap_image", max_length=300)
    if not image:
        return
    project.bootstrap = "image"
    for copr_chroot in project.active_chroots:
        copr_chroot.bootstrap_image = image


def _raise_conflict_if_created(ownername: str, name: str) -> None:
    """A 409 when a concurrent request created the project since this one checked."""
    if logic.get_project(db.session(), ownername, name) is not None:
        raise Conflict(f"Project {ownername}/{name} already exists.")


def _chroots(data: Mapping[str, Any]) -> list[Any] | None:
    patterns = to_list(data.get("chroots"), "chroots")
    if patterns is None:
        return None
    try:
        return logic.resolve_chroots(list_chroots(db.session(), active_only=True), patterns)
    except ProjectError as error:
        raise BadRequest(str(error)) from None


def _duplicate_message(existing: Project, user: User) -> str:
    if existing.is_group_project:
        return f"Group {existing.ownername} already has a project named {existing.full_name}."
    if existing.ownername == user.name:
        return f"You already have a project named {existing.full_name}."
    return f"User {existing.ownername} already has a project named {existing.full_name}."


def resolve_owner(ownername: str, user: User) -> tuple[User, Group | None]:
    """The (user, group) a project of ``ownername`` created by ``user`` belongs to."""
    session = db.session()
    if ownername.startswith("@"):
        group = get_group(session, ownername[1:])
        if group is None:
            raise ObjectNotFound(f"Group {ownername} does not exist.")
        if not (user.admin or is_member(session, user, group)):
            raise AccessRestricted(f"User {user.name} is not a member of the group {ownername}")
        return user, group
    owner = get_user(session, ownername)
    if owner is None:
        raise ObjectNotFound(f"User {ownername} does not exist.")
    if owner.id != user.id and not user.admin:
        raise AccessRestricted(f"User {user.name} may not create projects for user {ownername}")
    return owner, None


# --- routes -------------------------------------------------------------------------------


@route("/project")
def get_project() -> flask.Response:
    params = get_params()
    return flask.jsonify(
        project_to_json(project_or_404(params.get("ownername"), params.get("projectname")))
    )


@route("/project/list")
def project_list() -> flask.Response:
    params = get_params()
    query = select(Project).options(*PROJECT_JSON_LOADS)
    ownername = params.get("ownername")
    if ownername:
        query = query.where(Project.ownername == ownername)
    page = paginate(db.session(), query, project_to_json, params, orderable=ORDERABLE)
    return flask.jsonify(page)


@route("/project/search")
def project_search() -> flask.Response:
    params = get_params()
    text = params.get("query") or ""
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequest(f"Parameter 'query' is too long (at most {MAX_QUERY_LENGTH} characters)")
    try:
        query = logic.search_projects(text).options(*PROJECT_JSON_LOADS)
    except ProjectError as error:
        raise BadRequest(f"Missing or empty parameter 'query': {error}") from None
    page = paginate(db.session(), query, project_to_json, params, orderable=ORDERABLE)
    return flask.jsonify(page)


@route("/project/add/<ownername>", "/project/add", methods=["POST"])
@require_login
def add_project(ownername: str | None = None) -> flask.Response:
    params = get_params()
    user = login_required_user()
    owner_name = params.get("ownername")
    if not owner_name:
        raise BadRequest("Missing required parameter 'ownername'")
    data = json_body()
    name = to_text(data.get("name"), "name", max_length=100)
    if not name:
        raise BadRequest("Missing required field 'name' (the project name)")
    owner, group = resolve_owner(owner_name, user)
    session = db.session()
    existing = logic.get_project(session, owner_name, name)
    if existing is not None and to_bool(params.get("exist_ok", data.get("exist_ok")), "exist_ok"):
        return flask.jsonify(project_to_json(existing))
    errors = FieldErrors()
    if existing is not None:
        errors.add("name", _duplicate_message(existing, user), Conflict.code)
    fields = project_fields(data, user, errors)
    chroots: list[Any] = []
    with errors.field("chroots"):
        chroots = _chroots(data) or []
    errors.check()
    with conflict_on_duplicate(f"Project {owner_name}/{name}"):
        try:
            project = logic.add_project(
                session,
                owner if group is None else user,
                name,
                group=group,
                chroots=chroots,
                **fields,
            )
        except ProjectError as error:
            _raise_conflict_if_created(owner_name, name)
            raise BadRequest(str(error)) from None
        _apply_bootstrap_image(project, data)
        logic.queue_new_project_actions(session, project)
        session.commit()
    return flask.jsonify(project_to_json(project))


@route("/project/edit/<ownername>/<projectname>", "/project/edit", methods=["PUT"])
@require_login
def edit_project(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    user = require_admin(project)
    data = json_body()
    errors = FieldErrors()
    fields = project_fields(data, user, errors)
    chroots = None
    with errors.field("chroots"):
        chroots = _chroots(data)
    errors.check()
    session = db.session()
    devel_before = project.devel_mode
    for name, value in fields.items():
        setattr(project, name, value)
    if project.devel_mode != devel_before:
        # Turned on: builds go to devel/ repos from now on, which start with what the
        # chroots hold; turned off: the public repos catch up with every build.
        logic.queue_createrepo(
            session, project, [c.name for c in project.active_chroots], devel=project.devel_mode
        )
    if chroots:
        before = {c.name for c in project.active_chroots}
        logic.set_project_chroots(session, project, chroots)
        added = {c.name for c in project.active_chroots} - before
        if added:
            logic.queue_createrepo(session, project, added)
    _apply_bootstrap_image(project, data)
    session.commit()
    return flask.jsonify(project_to_json(project))


@route("/project/fork/<ownername>/<projectname>", "/project/fork", methods=["PUT"])
@require_login
def fork_project(**_path: Any) -> flask.Response:
    params = get_params()
    source = project_or_404(params.get("ownername"), params.get("projectname"))
    user = login_required_user()
    data = json_body()
    name = to_text(data.get("name"), "name", max_length=100) or source.name
    dst_owner = to_text(data.get("ownername"), "ownername", max_length=101) or user.name
    confirm = bool(to_bool(data.get("confirm"), "confirm"))
    _owner, group = resolve_owner(dst_owner, user)
    if group is None and dst_owner != user.name:
        raise AccessRestricted(f"User {user.name} may only fork into their own name or groups")
    session = db.session()
    existing = logic.get_project(session, dst_owner, name)
    if existing is not None:
        if existing.id == source.id:
            raise BadRequest(f"Cannot fork project {source.full_name} into itself")
        if not confirm:
            # Copr's two lines, which copr-cli shows as a list.
            raise BadRequest(
                f"You are about to fork into existing project: {existing.full_name}\n"
                "Please use --confirm if you really want to do this"
            )
        require_admin(existing)
    with conflict_on_duplicate(f"Project {dst_owner}/{name}"):
        try:
            fork = logic.fork_project(
                session, source, user, name, settings=settings(), group=group, into=existing
            )
        except ProjectError as error:
            _raise_conflict_if_created(dst_owner, name)
            raise BadRequest(str(error)) from None
        session.commit()
    return flask.jsonify(project_to_json(fork))


@route("/project/delete/<ownername>/<projectname>", "/project/delete", methods=["DELETE"])
@require_login
def delete_project(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    result = project_to_json(project)
    session = db.session()
    logic.delete_project(session, project)
    session.commit()
    return flask.jsonify(result)


@route(
    "/project/regenerate-repos/<ownername>/<projectname>",
    "/project/regenerate-repos",
    methods=["PUT"],
)
@require_login
def regenerate_repos(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    session = db.session()
    # As in Copr: the public repos, with every build (also of a devel_mode project).
    logic.queue_createrepo(session, project, [c.name for c in project.active_chroots], devel=False)
    session.commit()
    return flask.jsonify(project_to_json(project))


@route("/webhook/generate/<ownername>/<projectname>", "/webhook/generate", methods=["POST"])
@require_login
def generate_webhook_secret(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    project.webhook_secret = logic.new_webhook_secret()
    db.session().commit()
    result = project_to_json(project)
    result["webhook_secret"] = project.webhook_secret
    return flask.jsonify(result)
