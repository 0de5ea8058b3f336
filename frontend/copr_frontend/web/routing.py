"""Copr's page URLs and who may open them.

Project pages live at ``/coprs/<owner>/<project>/...`` and, for group projects, at the
twin ``/coprs/g/<group>/<project>/...``; :func:`project_route` registers both rules for
one view and hands it the loaded project, and :func:`purl` (a template global too) builds
the right one.  A page for logged-in users sends an anonymous visitor to the login page
(:func:`login_required`); a page the visitor may not use answers with the 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

import flask
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from copr_frontend import db
from copr_frontend.api.auth import current_user
from copr_frontend.api.errors import ApiError
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project
from copr_frontend.users.models import User

F = TypeVar("F", bound=Callable[..., Any])


def route_ownername(owner: str | None, group: str | None) -> str:
    """The owner name a page's rule names: ``/coprs/<owner>/…`` or ``/coprs/g/<group>/…``."""
    if group is not None:
        return f"@{group}"
    if owner is None:
        raise TypeError("a page rule names neither an owner nor a group")
    return owner


def project_route(
    blueprint: flask.Blueprint, rule: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view(project, **kwargs)`` at ``/coprs/<owner>/<project><rule>`` and its
    group twin; a missing project is a 404.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(
            project: str, owner: str | None = None, group: str | None = None, **kwargs: Any
        ) -> Any:
            ownername = route_ownername(owner, group)
            found = get_project(db.session(), ownername, project)
            if found is None:
                flask.abort(
                    404, gettext("Project %(name)s does not exist.", name=f"{ownername}/{project}")
                )
            return view(found, **kwargs)

        endpoint = options.pop("endpoint", view.__name__)
        for prefix in ("/coprs/<owner>/<project>", "/coprs/g/<group>/<project>"):
            blueprint.add_url_rule(prefix + rule, endpoint, wrapper, **options)
        return wrapper

    return decorator


def owner_url_args(ownername: str) -> dict[str, Any]:
    """``owner=`` or ``group=`` for an owner name (``@team`` → the ``/g/team/`` rule)."""
    if ownername.startswith("@"):
        return {"group": ownername[1:]}
    return {"owner": ownername}


def purl(endpoint: str, project: Project, **values: Any) -> str:
    """The URL of a project page, with the group twin for group projects."""
    return flask.url_for(
        endpoint, project=project.name, **owner_url_args(project.ownername), **values
    )


_MARKER = 918273645546372819
"""Stands for the value of :func:`purl_maker`'s argument while its URL is built (an
integer, so that ``<int:...>`` rules accept it too)."""


def purl_maker(endpoint: str, project: Project, argument: str) -> Callable[[Any], str]:
    """:func:`purl` for a table with a link per row: the URL is built by the routing once,
    each row only fills in ``argument`` (``url_for`` costs more than the rest of a cell).
    """
    head, tail = purl(endpoint, project, **{argument: _MARKER}).rsplit(str(_MARKER), 1)
    return lambda value: head + quote(str(value), safe="!$&'()*+,;=:@") + tail


def ourl(endpoint: str, ownername: str, **values: Any) -> str:
    """The URL of an owner's page (``/coprs/<owner>/...`` or ``/coprs/g/<group>/...``)."""
    return flask.url_for(endpoint, **owner_url_args(ownername), **values)


def web_user() -> User | None:
    try:
        return current_user()
    except ApiError:  # a wrong Authorization header: the page is shown as to anyone
        return None


def login_required() -> User:
    """The logged-in user; an anonymous visitor is sent to the login page and back."""
    user = web_user()
    if user is None:
        target = flask.request.full_path.rstrip("?")
        flask.abort(flask.redirect(flask.url_for("accounts.login", next=target)))
    return user


def forbidden(message: str) -> None:
    flask.abort(403, message)


def require_admin(project: Project) -> User:
    user = login_required()
    if not can_admin(db.session(), user, project):
        forbidden(
            gettext(
                "Only the owner and the admins of %(project)s may do this.",
                project=project.full_name,
            )
        )
    return user


def require_builder(project: Project) -> User:
    user = login_required()
    if not can_build(db.session(), user, project):
        forbidden(
            gettext(
                "You may not build in %(project)s: ask for the builder permission first.",
                project=project.full_name,
            )
        )
    return user


def project_rights(project: Project) -> dict[str, bool]:
    """What the visitor may do in ``project`` (the templates show buttons from it)."""
    user = web_user()
    session = db.session()
    return {
        "admin": can_admin(session, user, project),
        "builder": can_build(session, user, project),
        "logged_in": user is not None,
    }


def render_error(error: HTTPException | ApiError) -> tuple[str, int]:
    """The HTML page for an error on a web page (the API keeps its JSON errors)."""
    if isinstance(error, ApiError):
        code, message = error.code, error.message
    else:
        code = error.code or 500
        message = (error.description or "") if code in (400, 403, 404, 409, 413) else ""
    titles = {
        400: gettext("Bad request"),
        403: gettext("Access denied"),
        404: gettext("Page not found"),
        405: gettext("Method not allowed"),
        409: gettext("Conflict"),
        413: gettext("Request too large"),
    }
    title = titles.get(code, gettext("Error"))
    if code == 404 and not isinstance(error, ApiError) and "requested URL" in (message or ""):
        message = gettext("There is nothing at this address.")
    return flask.render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: flask.Flask) -> None:
    app.extensions["copr_html_errors"] = render_error
    app.jinja_env.globals.update(purl=purl, purl_maker=purl_maker, ourl=ourl, web_user=web_user)
