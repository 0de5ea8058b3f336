"""Project pages: lists, search, a new project, the overview, repositories, forks and
the history (the backend actions of the project: deletions, pruning, repodata, keys).

The settings pages (edit, chroots, delete, fork, integrations) are in
:mod:`.settings_views`; builds and packages have their own domains' views.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import flask
from flask_babel import gettext

from copr_common.names import InvalidNameError, release_package_path, validate_project_name
from copr_frontend import db
from copr_frontend.actions.logic import project_actions
from copr_frontend.api.errors import BadRequest
from copr_frontend.api.form import FieldErrors
from copr_frontend.context import settings
from copr_frontend.mockchroots.logic import list_chroots
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.projects import api as project_api
from copr_frontend.projects import logic
from copr_frontend.projects.models import Project
from copr_frontend.quotas import logic as quotas
from copr_frontend.users.logic import get_group, is_member
from copr_frontend.web.forms import FormErrors, collecting, form_data, render_form
from copr_frontend.web.routing import (
    login_required,
    ourl,
    project_rights,
    project_route,
    purl,
    route_ownername,
)

blueprint = flask.Blueprint("projects", __name__)

# Fields of the new-project form (the API v3 ``project/add`` fields).
ADD_FIELDS = (
    "name", "description", "instructions", "homepage", "contact", "chroots",
    "additional_repos", "enable_net", "unlisted_on_hp", "delete_after_days",
    "bootstrap", "isolation", "appstream", "module_hotfixes", "follow_fedora_branching",
    "repo_priority", "runtime_dependencies", "fedora_review", "devel_mode", "keep_builds",
    "rpmlint_fail_on_errors", "email_notifications", "rebuild_dependents",
)  # fmt: skip
BOOL_FIELDS = (
    "enable_net", "unlisted_on_hp", "appstream", "module_hotfixes", "follow_fedora_branching",
    "fedora_review", "devel_mode", "auto_prune", "persistent", "rpmlint_fail_on_errors",
    "email_notifications",
)  # fmt: skip


def before_arg() -> int | None:
    value = flask.request.args.get("before", "")
    if not value:
        return None
    if not value.isdigit() or int(value) > 2**31:
        flask.abort(400, gettext("The page parameter 'before' must be a build or project id."))
    return int(value)


def owner_or_404(ownername: str) -> None:
    if not logic.owner_exists(db.session(), ownername):
        flask.abort(404, gettext("%(owner)s does not exist.", owner=ownername))


@blueprint.route("/coprs/")
def project_list() -> Any:
    projects, next_id = logic.list_projects(db.session(), before_id=before_arg())
    next_url = flask.url_for("projects.project_list", before=next_id) if next_id else None
    return flask.render_template(
        "projects/list.html", projects=projects, next_url=next_url, heading=gettext("Projects")
    )


def _owner_projects(ownername: str) -> Any:
    owner_or_404(ownername)
    projects, next_id = logic.list_projects(
        db.session(), ownername=ownername, before_id=before_arg()
    )
    next_url = ourl("projects.owner_projects", ownername, before=next_id) if next_id else None
    quota = quotas.owner_quota(db.session(), settings(), ownername)
    return flask.render_template(
        "projects/list.html",
        projects=projects,
        next_url=next_url,
        heading=gettext("Projects of %(owner)s", owner=ownername),
        ownername=ownername,
        storage=_storage_line(quota),
    )


def _storage_line(quota: quotas.Quota) -> str:
    usage = quotas.format_size(quota.usage)
    if quota.limit is None:
        return str(gettext("Storage used: %(usage)s (no limit)", usage=usage))
    limit = quotas.format_size(quota.limit)
    if quota.exceeded:
        text = gettext(
            "Storage used: %(usage)s of %(limit)s: the quota is used up, new builds are "
            "refused.",
            usage=usage,
            limit=limit,
        )
        return str(text)
    return str(gettext("Storage used: %(usage)s of %(limit)s", usage=usage, limit=limit))


@blueprint.route("/coprs/<owner>/")
@blueprint.route("/coprs/g/<group>/")
def owner_projects(owner: str | None = None, group: str | None = None) -> Any:
    return _owner_projects(route_ownername(owner, group))


@blueprint.route("/coprs/fulltext/")
def fulltext() -> Any:
    text = flask.request.args.get("fulltext", "").strip()
    projects: list[Project] = []
    next_url = None
    if text:
        if len(text) > project_api.MAX_QUERY_LENGTH:
            flask.abort(400, gettext("The search text is too long."))
        query = logic.search_projects(text)
        projects, next_id = logic.list_projects(db.session(), query=query, before_id=before_arg())
        if next_id:
            next_url = flask.url_for("projects.fulltext", fulltext=text, before=next_id)
    return flask.render_template(
        "projects/list.html",
        projects=projects,
        next_url=next_url,
        heading=gettext("Search results for “%(text)s”", text=text) if text else gettext("Search"),
        search=text,
    )


# --- a new project -----------------------------------------------------------------------


def _may_create_for(ownername: str) -> None:
    user = login_required()
    session = db.session()
    if ownername.startswith("@"):
        group = get_group(session, ownername[1:])
        if group is None:
            flask.abort(404, gettext("%(owner)s does not exist.", owner=ownername))
        if not (user.admin or is_member(session, user, group)):
            flask.abort(
                403, gettext("Only members of %(group)s may create its projects.", group=ownername)
            )
    elif ownername != user.name and not user.admin:
        flask.abort(403, gettext("You may create projects only in your own name or your groups."))
    else:
        owner_or_404(ownername)


def project_form_body(form: Any) -> dict[str, Any]:
    """The project form as an API v3 body (checkboxes send ``on``/``off``)."""
    data = form_data(form, lists=("chroots",))
    for name in BOOL_FIELDS:
        values = form.getlist(name)
        if values:
            data[name] = "on" in values
    if form.get("keep_builds") == "":
        data["keep_builds"] = 0  # the field is shown filled in: emptied, it lifts the limit
    return data


def chosen_chroots(
    found: FieldErrors, available: Sequence[MockChroot], data: dict[str, Any]
) -> list[MockChroot]:
    """The chroots the form's ``chroots`` checkboxes name (a problem goes to ``found``)."""
    with found.field("chroots"):
        if not data.get("chroots"):
            raise BadRequest("needs at least one chroot to build for")
        try:
            return logic.resolve_chroots(available, data["chroots"])
        except logic.ProjectError as error:
            raise BadRequest(str(error)) from None
    return []


def _check_new_name(ownername: str, name: str) -> None:
    if not name:
        raise BadRequest("is required: give the project a name")
    try:
        validate_project_name(name)
    except InvalidNameError as error:
        raise BadRequest(str(error)) from None
    if logic.get_project(db.session(), ownername, name) is not None:
        raise BadRequest(f"there is already a project named {ownername}/{name}")


def _add(ownername: str) -> Any:
    _may_create_for(ownername)
    user = login_required()
    session = db.session()
    chroots = list_chroots(session, active_only=True)
    errors = FormErrors()
    context: dict[str, Any] = {"ownername": ownername, "chroots": chroots}
    if flask.request.method == "GET":
        return render_form("projects/add.html", errors, **context)
    data = project_form_body(flask.request.form)
    with collecting(errors, ADD_FIELDS):
        owner, group = project_api.resolve_owner(ownername, user)
        # Every problem at once, as the API answers them.
        found = FieldErrors()
        name = data.get("name") or ""
        with found.field("name"):
            _check_new_name(ownername, name)
        fields = project_api.project_fields(data, user, found)
        wanted = chosen_chroots(found, chroots, data)
        found.check()
        try:
            project = logic.add_project(
                session, owner if group is None else user, name, group=group, chroots=wanted,
                **fields,
            )  # fmt: skip
        except logic.ProjectError as error:
            raise BadRequest(f"Field 'name': {error}") from None
        logic.queue_new_project_actions(session, project)
        session.commit()
        flask.flash(gettext("Project %(name)s was created.", name=project.full_name))
        return flask.redirect(purl("projects.overview", project), code=303)
    return render_form("projects/add.html", errors, **context)


@blueprint.route("/coprs/<owner>/add/", methods=["GET", "POST"])
@blueprint.route("/coprs/<owner>/new/", methods=["POST"])
@blueprint.route("/coprs/g/<group>/add/", methods=["GET", "POST"])
@blueprint.route("/coprs/g/<group>/new/", methods=["POST"])
def add(owner: str | None = None, group: str | None = None) -> Any:
    return _add(route_ownername(owner, group))


# --- one project -------------------------------------------------------------------------


def repo_links(project: Project) -> list[dict[str, str]]:
    """Each enabled chroot with its ``.repo`` file link (the dnf copr plugin's URL)."""
    rows = []
    repo_owner = project.ownername.replace("@", "group_")
    results = f"{settings().results_url}/{project.ownername}/{project.name}"
    for chroot in project.active_chroots:
        mock = chroot.mock_chroot
        rows.append(
            {
                "name": chroot.name,
                "distro": mock.distro,
                "arch": mock.arch,
                "repo_url": purl(
                    "repos.repo_file" if not project.is_group_project else "repos.group_repo_file",
                    project,
                    distro=mock.distro,
                    filename=f"{repo_owner}-{project.name}-{mock.distro}.repo",
                    arch=mock.arch,
                ),
                "results_url": f"{results}/{chroot.name}/",
                # Made by the backend with the chroot's first published build.
                "release_url": f"{settings().results_url}/"
                f"{release_package_path(project.ownername, project.name, chroot.name)}",
            }
        )
    return rows


@project_route(blueprint, "/")
def overview(project: Project) -> Any:
    return flask.render_template(
        "projects/overview.html",
        project=project,
        rights=project_rights(project),
        repos=repo_links(project),
        results_url=f"{settings().results_url}/{project.ownername}/{project.name}/",
        forks=len(logic.list_forks(db.session(), project)),
        storage=quotas.format_size(quotas.project_usage(project)),
        downloads=_download_days(project),
    )


CHART_DAYS = 30


def _download_days(project: Project) -> list[dict[str, int]]:
    """The last 30 days' download totals, for the overview's chart."""
    from copr_frontend.downloads.logic import daily_totals, download_counts

    now = time.time()
    counts = download_counts(db.session(), project, days=CHART_DAYS, now=now)
    return daily_totals(counts, CHART_DAYS, now)


@project_route(blueprint, "/repositories/")
def repositories(project: Project) -> Any:
    return flask.render_template(
        "projects/repositories.html",
        project=project,
        rights=project_rights(project),
        repos=repo_links(project),
        results_url=f"{settings().results_url}/{project.ownername}/{project.name}/",
    )


@project_route(blueprint, "/forks/")
def forks(project: Project) -> Any:
    return flask.render_template(
        "projects/forks.html",
        project=project,
        rights=project_rights(project),
        forks=logic.list_forks(db.session(), project),
    )


@project_route(blueprint, "/history/")
def history(project: Project) -> Any:
    actions, next_id = project_actions(db.session(), project, before_id=before_arg())
    next_url = purl("projects.history", project, before=next_id) if next_id else None
    return flask.render_template(
        "projects/history.html",
        project=project,
        rights=project_rights(project),
        actions=actions,
        next_url=next_url,
    )
