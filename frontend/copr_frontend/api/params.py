"""Where API v3 views read their input (query string, path, JSON or form body) and how
they answer a page of a list; the values are checked with :mod:`copr_frontend.validation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import flask
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from copr_frontend.api.errors import BadRequest
from copr_frontend.api.json_limits import loads_bounded, max_json_size
from copr_frontend.validation import to_int

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**62
"""PostgreSQL's OFFSET is a bigint; a larger one is an error, not a 500."""


def get_params() -> dict[str, str]:
    """Query string values with the URL's path values on top."""
    params = dict(flask.request.args.items())
    params.update({k: str(v) for k, v in (flask.request.view_args or {}).items()})
    return params


def json_body() -> dict[str, Any]:
    """The request's JSON object: a JSON body, a multipart ``json`` part, or form fields."""
    request = flask.request
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object")
        return data
    # python-copr sends the ``json`` part as a file part (it has a filename), so it
    # lands in ``request.files``; other clients send a plain form field.
    json_file = request.files.get("json")
    if "json" in request.form or json_file is not None:
        if json_file is not None and "json" not in request.form:
            json_file.stream.seek(0)  # views may read the body more than once
            # One byte over the limit is enough to refuse it.
            raw: str | bytes = json_file.stream.read(max_json_size() + 1)
        else:
            raw = request.form["json"]
        try:
            data = loads_bounded(raw, "The 'json' part")
        except ValueError as error:  # also bytes that are not UTF-8
            raise BadRequest(f"The 'json' part is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise BadRequest("The 'json' part must be a JSON object")
        return data
    if request.form:
        return dict(request.form.items())
    if not request.get_data():
        return {}
    raise BadRequest("The request body must be a JSON object")


def paginate(
    session: Session,
    query: Select[Any],
    to_json: Callable[[T], dict[str, Any]],
    params: Mapping[str, Any],
    *,
    orderable: Mapping[str, Any],
    default_order: str = "id",
) -> dict[str, Any]:
    """``{"items": [...], "meta": {...}}`` for ``query`` with Copr's pagination params.

    ``orderable`` maps the names a client may pass in ``order`` to columns; anything
    else is a 400, so a client never sorts on an unindexed expression by accident.
    """
    rows, meta = page_of(session, query, params, orderable=orderable, default_order=default_order)
    return {"items": [to_json(row) for row in rows], "meta": meta}


def page_of(
    session: Session,
    query: Select[Any],
    params: Mapping[str, Any],
    *,
    orderable: Mapping[str, Any],
    default_order: str = "id",
) -> tuple[Sequence[Any], dict[str, Any]]:
    """The rows of one page and its ``meta``, for a view that serializes a page at once
    (one query for what all its rows need, rather than one per row); see :func:`paginate`.

    Ordered by ``id``, a page may also be asked by keyset (ours, not Copr's): ``after_id``
    names the last id of the page before, so the database starts at that index entry
    instead of counting ``offset`` rows; ``offset`` then only numbers the page in ``meta``.
    A full page's ``meta`` has ``last_id`` to ask for the next one with (the rows are the
    query's ORM objects with an ``id``, or ids).
    """
    given_limit = to_int(params.get("limit"), "limit", limit=MAX_OFFSET)
    limit = DEFAULT_LIMIT if given_limit is None else given_limit
    # A larger offset than MAX_OFFSET is refused below, with the limit in the message.
    offset = to_int(params.get("offset"), "offset", limit=2**63) or 0
    if limit < 1 or limit > MAX_LIMIT:
        raise BadRequest(f"Parameter 'limit' must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise BadRequest(f"Parameter 'offset' must not be negative, got {offset}")
    if offset > MAX_OFFSET:
        raise BadRequest(f"Parameter 'offset' must be at most {MAX_OFFSET}, got {offset}")
    order = str(params.get("order") or default_order)
    if order not in orderable:
        choices = ", ".join(sorted(orderable))
        raise BadRequest(f"Cannot order by {order!r}: choose from {choices}")
    order_type = str(params.get("order_type") or "ASC").upper()
    if order_type not in {"ASC", "DESC"}:
        raise BadRequest(f"Parameter 'order_type' must be ASC or DESC, got {order_type!r}")
    after_id = to_int(params.get("after_id"), "after_id")
    if after_id is not None and order != "id":
        raise BadRequest(f"Parameter 'after_id' needs order=id, not order={order!r}")
    column = orderable[order]
    descending = order_type == "DESC"
    ordered = query.order_by(column.desc() if descending else column.asc())
    if after_id is None:
        ordered = ordered.limit(limit).offset(offset)
    else:
        ordered = ordered.where(column < after_id if descending else column > after_id)
        ordered = ordered.limit(limit)
    rows = session.scalars(ordered).unique().all()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    meta: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "order": order,
        "order_type": order_type,
        "total": total,
    }
    if order == "id" and len(rows) == limit:
        last = rows[-1]
        meta["last_id"] = last if isinstance(last, int) else last.id
    return rows, meta
