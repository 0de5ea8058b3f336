"""The API v3 framework: the ``/api_3`` blueprint and what every resource shares.

How to add a resource
---------------------
1. Write ``copr_frontend/<domain>/api.py``.  Import ``api_v3`` and the helpers below and
   declare routes with :func:`route` (not ``api_v3.route``)::

       from copr_frontend.api import api_v3, route, ApiError, ObjectNotFound
       from copr_frontend.api.auth import require_login, current_user
       from copr_frontend.api.params import get_params, paginate

       @route("/project/list")
       def project_list() -> Response:
           params = get_params()            # query string + path values, merged
           ...
           return flask.jsonify(paginate(query, to_json, params))

2. Add the module name to ``API_MODULES`` in :mod:`copr_frontend.app`.

What the framework gives every route:

* a trailing slash is optional (``/project/list`` and ``/project/list/`` both work);
* a route declared with ``PUT`` or ``DELETE`` also answers ``POST`` (Copr's clients
  send POST everywhere);
* errors are JSON ``{"error": "..."}``: raise :class:`ApiError` subclasses
  (``BadRequest`` 400, ``AuthError`` 401, ``AccessRestricted`` 403, ``ObjectNotFound``
  404, ``Conflict`` 409); unknown routes give 404/405 JSON too, and any unexpected
  exception a 500 JSON body, never an HTML page;
* :func:`copr_frontend.api.auth.current_user` reads HTTP Basic ``login:token``;
  :func:`~copr_frontend.api.auth.require_login` turns "no user" into a 401;
* a NUL character anywhere in the input (path, query, JSON or form body) is a 400;
* input values are checked with :mod:`copr_frontend.validation` (``to_int``,
  ``to_text``, ``to_bool``, ...), whose ``InvalidInput`` is a 400 naming the field;
* :func:`copr_frontend.api.params.get_params` merges path values and the query string
  (values in the path may also come as query parameters), and
  :func:`~copr_frontend.api.params.paginate` turns a select into
  ``{"items": [...], "meta": {...}}`` from ``limit``, ``offset``, ``order``,
  ``order_type``.

Views stay thin: parse, check permission (:mod:`copr_frontend.permissions.logic`), call
logic (which never commits), ``db.session().commit()``, serialize.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import flask

from copr_frontend.api.errors import (
    AccessRestricted,
    ApiError,
    AuthError,
    BadRequest,
    Conflict,
    ObjectNotFound,
    register_error_handlers,
)

__all__ = [
    "AccessRestricted",
    "ApiError",
    "AuthError",
    "BadRequest",
    "Conflict",
    "ObjectNotFound",
    "api_v3",
    "make_route",
    "register_api",
    "route",
]

API_PREFIX = "/api_3"

api_v3 = flask.Blueprint("api_v3", __name__, url_prefix=API_PREFIX)

F = TypeVar("F", bound=Callable[..., Any])


def make_route(blueprint: flask.Blueprint) -> Callable[..., Callable[[F], F]]:
    """The :func:`route` decorator for ``blueprint``."""

    def route(
        rule: str, *more_rules: str, methods: Iterable[str] = ("GET",), **options: Any
    ) -> Callable[[F], F]:
        """Declare an API v3 route: trailing slash optional, PUT/DELETE also as POST.

        Give several rules when path values may also come as query parameters, e.g.
        ``@route("/build/<build_id>", "/build")``; the view reads them with
        :func:`copr_frontend.api.params.get_params` (so give path parameters defaults,
        or take ``**kwargs``).
        """
        wanted = {m.upper() for m in methods}
        if wanted & {"PUT", "DELETE"}:
            wanted.add("POST")

        def decorator(view: F) -> F:
            for one_rule in (rule, *more_rules):
                # Both spellings are real rules: no redirect (clients would turn a POST
                # into a GET) and a wrong method is a 405 with or without the slash.
                bare = one_rule.rstrip("/")
                for spelling in (bare, bare + "/"):
                    blueprint.add_url_rule(
                        spelling, view_func=view, methods=sorted(wanted), strict_slashes=True,
                        **options,
                    )  # fmt: skip
            return view

        return decorator

    return route


route = make_route(api_v3)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


@api_v3.before_request
def reject_nul_characters() -> None:
    """A 400 for NUL characters anywhere in the input: no name or text may hold one, and
    PostgreSQL refuses them in text (a query would fail with a 500 instead).
    """
    request = flask.request
    if "\x00" in request.path or any(
        _holds_nul(k) or _holds_nul(v) for k, v in request.args.items(multi=True)
    ):
        raise BadRequest("The request holds a NUL character")
    if request.is_json and _holds_nul(request.get_json(silent=True)):
        raise BadRequest("The request body holds a NUL character")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded") and any(
        _holds_nul(v) for v in request.form.values()
    ):
        raise BadRequest("The request body holds a NUL character")


def register_api(app: flask.Flask, blueprint: flask.Blueprint) -> None:
    app.register_blueprint(blueprint)
    register_error_handlers(app, API_PREFIX)
