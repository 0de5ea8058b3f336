"""A project's settings pages: edit, edit a chroot, integrations (webhooks), fork, delete.

Each form posts the API v3 field names and goes through the API's validation
(:func:`copr_frontend.projects.api.project_fields` and the chroot edit's rules), so a
page and copr-cli accept and refuse the same things with the same messages.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_babel import gettext

from copr_frontend import db
from copr_frontend.api.errors import AccessRestricted, BadRequest
from copr_frontend.api.form import FieldErrors
from copr_frontend.context import settings
from copr_frontend.mockchroots.logic import list_chroots
from copr_frontend.permissions.logic import can_admin
from copr_frontend.projects import api as project_api
from copr_frontend.projects import chroot_api, logic
from copr_frontend.projects.models import Project
from copr_frontend.projects.views import ADD_FIELDS, chosen_chroots, project_form_body
from copr_frontend.users.models import User
from copr_frontend.validation import to_choice, to_list
from copr_frontend.web.forms import FormErrors, collecting, form_data, render_form
from copr_frontend.web.routing import (
    login_required,
    ourl,
    project_rights,
    project_route,
    purl,
    require_admin,
)
from copr_frontend.webhooks.forges import forges

blueprint = flask.Blueprint("project_settings", __name__)


@project_route(blueprint, "/edit/", methods=["GET", "POST"])
def edit(project: Project) -> Any:
    user = require_admin(project)
    session = db.session()
    chroots = list_chroots(session, active_only=True)
    errors = FormErrors()
    context: dict[str, Any] = {
        "project": project,
        "chroots": chroots,
        "rights": project_rights(project),
    }
    if flask.request.method == "POST":
        data = project_form_body(flask.request.form)
        data.setdefault("chroots", [])
        with collecting(errors, ADD_FIELDS):
            found = FieldErrors()  # every problem at once, as the API answers them
            fields = project_api.project_fields(data, user, found)
            wanted = chosen_chroots(found, chroots, data)
            found.check()
            for name, value in fields.items():
                setattr(project, name, value)
            before = {c.name for c in project.active_chroots}
            logic.set_project_chroots(session, project, wanted)
            added = {c.name for c in project.active_chroots} - before
            if added:
                logic.queue_createrepo(session, project, added)
            session.commit()
            flask.flash(gettext("The project settings were saved."))
            return flask.redirect(purl("projects.overview", project), code=303)
    return render_form("projects/edit.html", errors, **context)


CHROOT_FIELDS = (
    "additional_packages", "additional_repos", "additional_modules", "with_opts",
    "without_opts", "bootstrap", "bootstrap_image", "isolation", "upload_comps", "delete_comps",
)  # fmt: skip


@project_route(blueprint, "/edit_chroot/<chroot>/", methods=["GET", "POST"])
def edit_chroot(project: Project, chroot: str) -> Any:
    require_admin(project)
    copr_chroot = logic.project_chroot(project, chroot)
    if copr_chroot is None:
        flask.abort(
            404, gettext("Chroot %(chroot)s is not enabled in this project.", chroot=chroot)
        )
    errors = FormErrors()
    if flask.request.method == "POST":
        data = form_data(flask.request.form)
        with collecting(errors, CHROOT_FIELDS):
            lists = {name: to_list(data.get(name, ""), name) or [] for name in CHROOT_FIELDS[:5]}
            bootstrap = to_choice(data.get("bootstrap"), "bootstrap", chroot_api.CHROOT_BOOTSTRAP)
            isolation = to_choice(data.get("isolation"), "isolation", chroot_api.CHROOT_ISOLATION)
            image = data.get("bootstrap_image", "").strip()
            if bootstrap == "image" and not image:
                raise BadRequest("Field 'bootstrap_image' is needed with bootstrap 'image'")
            if len(image) > 300:
                raise BadRequest("Field 'bootstrap_image' must be an image name")
            copr_chroot.buildroot_pkgs = lists["additional_packages"]
            copr_chroot.repos = lists["additional_repos"]
            copr_chroot.module_toggle = lists["additional_modules"]
            copr_chroot.with_opts = lists["with_opts"]
            copr_chroot.without_opts = lists["without_opts"]
            copr_chroot.bootstrap = bootstrap or "unchanged"
            copr_chroot.bootstrap_image = image or None
            copr_chroot.isolation = isolation or "unchanged"
            if "on" in flask.request.form.getlist("delete_comps"):
                copr_chroot.comps = None
                copr_chroot.comps_name = None
            comps = flask.request.files.get("upload_comps")
            if comps is not None and comps.filename:
                content = comps.stream.read(chroot_api.MAX_COMPS_SIZE + 1)
                if len(content) > chroot_api.MAX_COMPS_SIZE:
                    raise BadRequest(
                        f"Field 'upload_comps': the file is larger than "
                        f"{chroot_api.MAX_COMPS_SIZE} bytes"
                    )
                try:
                    text = content.decode()
                except UnicodeDecodeError:
                    raise BadRequest("Field 'upload_comps' must be UTF-8 XML") from None
                if "<comps" not in text:
                    raise BadRequest("Field 'upload_comps' is not a comps.xml document")
                copr_chroot.comps = text
                copr_chroot.comps_name = comps.filename[:200]
            db.session().commit()
            flask.flash(gettext("The settings of %(chroot)s were saved.", chroot=chroot))
            return flask.redirect(purl("project_settings.edit", project), code=303)
    return render_form(
        "projects/edit_chroot.html",
        errors,
        project=project,
        copr_chroot=copr_chroot,
        rights=project_rights(project),
    )


def webhook_urls(project: Project) -> dict[str, str]:
    """The URL each forge's webhook posts to (Copr's paths; the secret is in them)."""
    base = settings().public_url
    secret = project.webhook_secret
    urls = {forge: f"{base}/webhooks/{forge}/{project.id}/{secret}/" for forge in forges()}
    urls["custom"] = f"{base}/webhooks/custom/{project.id}/{secret}/<package_name>/"
    return urls


@project_route(blueprint, "/integrations/", methods=["GET", "POST"])
def integrations(project: Project) -> Any:
    require_admin(project)
    if flask.request.method == "POST":
        project.webhook_secret = logic.new_webhook_secret()
        db.session().commit()
        flask.flash(gettext("A new webhook secret was generated; update your forges' webhooks."))
        return flask.redirect(purl("project_settings.integrations", project), code=303)
    return flask.render_template(
        "projects/integrations.html",
        project=project,
        rights=project_rights(project),
        urls=webhook_urls(project),
    )


def _fork_owners(user: User) -> list[str]:
    return [user.name] + [group.at_name for group in user.groups]


@project_route(blueprint, "/fork/", methods=["GET", "POST"])
def fork(project: Project) -> Any:
    user = login_required()
    errors = FormErrors()
    owners = _fork_owners(user)
    if flask.request.method == "POST":
        data = form_data(flask.request.form)
        with collecting(errors, ("name", "ownername", "confirm")):
            name = data.get("name") or project.name
            ownername = data.get("ownername") or user.name
            _owner, group = project_api.resolve_owner(ownername, user)
            session = db.session()
            existing = logic.get_project(session, ownername, name)
            if existing is not None:
                if existing.id == project.id:
                    raise BadRequest("Field 'name': a project cannot be forked into itself")
                if data.get("confirm") != "on":
                    raise BadRequest(
                        f"Field 'confirm': {existing.full_name} exists; confirm to fork into it"
                    )
                if not can_admin(session, user, existing):
                    raise AccessRestricted(f"You may not change {existing.full_name}")
            try:
                forked = logic.fork_project(
                    session, project, user, name, settings=settings(), group=group, into=existing
                )
            except logic.ProjectError as error:
                raise BadRequest(f"Field 'name': {error}") from None
            session.commit()
            flask.flash(
                gettext(
                    "%(source)s was forked as %(fork)s.",
                    source=project.full_name,
                    fork=forked.full_name,
                )
            )
            return flask.redirect(purl("projects.overview", forked), code=303)
    return render_form(
        "projects/fork.html", errors, project=project, rights=project_rights(project), owners=owners
    )


@project_route(blueprint, "/delete/", methods=["GET", "POST"])
def delete(project: Project) -> Any:
    require_admin(project)
    errors = FormErrors()
    if flask.request.method == "POST":
        if flask.request.form.get("verify") != "yes":
            errors.fields["verify"] = [gettext("Type yes to delete the project.")]
        else:
            owner = project.ownername
            name = project.full_name
            logic.delete_project(db.session(), project)
            db.session().commit()
            flask.flash(gettext("Project %(name)s was deleted.", name=name))
            return flask.redirect(ourl("projects.owner_projects", owner), code=303)
    return render_form(
        "projects/delete.html", errors, project=project, rights=project_rights(project)
    )
