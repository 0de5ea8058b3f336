"""API v3 ``/notification-endpoint/...`` and ``/notification-delivery/list``: a
project's outbound notification endpoints and what was delivered to them.

Only the project's admins see or change them (an endpoint URL may carry a token).

``GET  /notification-endpoint/list/<ownername>/<projectname>``
``POST /notification-endpoint/add/<ownername>/<projectname>``  ``{"url", "events"?, "secret"?}``
       — the answer carries ``secret`` (generated unless given), the only time it is shown
``PUT  /notification-endpoint/edit/<ownername>/<projectname>/<endpoint_id>``
       ``{"url"?, "events"?, "enabled"?}`` — enabling clears a disabled endpoint's failures
``DELETE /notification-endpoint/delete/<ownername>/<projectname>/<endpoint_id>``
``GET  /notification-delivery/list/<ownername>/<projectname>`` ``?endpoint_id=&state=``
       — paginated, newest first by default
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, ObjectNotFound, route
from copr_frontend.api.auth import require_login
from copr_frontend.api.lookup import project_or_404, require_admin
from copr_frontend.api.params import get_params, json_body, paginate
from copr_frontend.context import settings
from copr_frontend.notifications import logic
from copr_frontend.notifications.logic import NotificationError
from copr_frontend.notifications.models import (
    DELIVERY_STATES,
    NotificationDelivery,
    NotificationEndpoint,
)
from copr_frontend.projects.models import Project
from copr_frontend.validation import MAX_INT, to_bool, to_choice, to_int, to_list, to_text


def endpoint_to_json(endpoint: NotificationEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "ownername": endpoint.project.ownername,
        "projectname": endpoint.project.name,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failures_in_row": endpoint.failures_in_row,
        "created_on": endpoint.created_on,
    }


def delivery_to_json(delivery: NotificationDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event": delivery.event,
        "build_id": delivery.build_id,
        "chroot": delivery.chroot or None,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "last_error": delivery.last_error,
        "created_on": delivery.created_on,
        "last_attempt_on": delivery.last_attempt_on,
        "next_attempt_on": delivery.next_attempt_on,
        "delivered_on": delivery.delivered_on,
    }


def _admin_project() -> tuple[Project, dict[str, str]]:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    return project, params


def _endpoint_or_404(project: Project, value: Any) -> NotificationEndpoint:
    endpoint_id = to_int(value, "endpoint_id", required=True, minimum=1)
    assert endpoint_id is not None
    endpoint = logic.get_endpoint(db.session(), project, endpoint_id)
    if endpoint is None:
        raise ObjectNotFound(f"Project {project.full_name} has no notification endpoint {value}")
    return endpoint


def _events(data: dict[str, Any]) -> list[str] | None:
    return to_list(data.get("events"), "events")


@route("/notification-endpoint/list/<ownername>/<projectname>", "/notification-endpoint/list")
@require_login
def list_endpoints(**_path: Any) -> flask.Response:
    project, _params = _admin_project()
    items = [endpoint_to_json(e) for e in logic.project_endpoints(db.session(), project)]
    return flask.jsonify({"items": items, "meta": {"total": len(items)}})


@route(
    "/notification-endpoint/add/<ownername>/<projectname>",
    "/notification-endpoint/add",
    methods=["POST"],
)
@require_login
def add_endpoint(**_path: Any) -> flask.Response:
    project, _params = _admin_project()
    data = json_body()
    url = to_text(data.get("url"), "url", max_length=logic.MAX_URL)
    if not url:
        raise BadRequest("Missing required field 'url'")
    secret = to_text(data.get("secret"), "secret", max_length=200) or None
    session = db.session()
    try:
        endpoint = logic.add_endpoint(
            session, settings(), project, url, events=_events(data), secret=secret
        )
    except NotificationError as error:
        raise BadRequest(str(error)) from None
    session.commit()
    return flask.jsonify({**endpoint_to_json(endpoint), "secret": endpoint.secret})


@route(
    "/notification-endpoint/edit/<ownername>/<projectname>/<endpoint_id>",
    "/notification-endpoint/edit",
    methods=["PUT"],
)
@require_login
def edit_endpoint(**_path: Any) -> flask.Response:
    project, params = _admin_project()
    endpoint = _endpoint_or_404(project, params.get("endpoint_id"))
    data = json_body()
    url = to_text(data.get("url"), "url", max_length=logic.MAX_URL) or None
    try:
        logic.edit_endpoint(
            settings(),
            endpoint,
            url=url,
            events=_events(data),
            enabled=to_bool(data.get("enabled"), "enabled"),
        )
    except NotificationError as error:
        raise BadRequest(str(error)) from None
    db.session().commit()
    return flask.jsonify(endpoint_to_json(endpoint))


@route(
    "/notification-endpoint/delete/<ownername>/<projectname>/<endpoint_id>",
    "/notification-endpoint/delete",
    methods=["DELETE"],
)
@require_login
def delete_endpoint(**_path: Any) -> flask.Response:
    project, params = _admin_project()
    endpoint = _endpoint_or_404(project, params.get("endpoint_id"))
    result = endpoint_to_json(endpoint)
    logic.delete_endpoint(db.session(), endpoint)
    db.session().commit()
    return flask.jsonify(result)


@route("/notification-delivery/list/<ownername>/<projectname>", "/notification-delivery/list")
@require_login
def list_deliveries(**_path: Any) -> flask.Response:
    project, params = _admin_project()
    endpoint_id = to_int(params.get("endpoint_id"), "endpoint_id", minimum=1, maximum=MAX_INT)
    if endpoint_id is not None:
        _endpoint_or_404(project, endpoint_id)
    state = to_choice(params.get("state"), "state", DELIVERY_STATES)
    query = logic.project_deliveries_query(project, endpoint_id, state)
    defaults = {"order": "id", "order_type": "DESC", **params}
    page = paginate(
        db.session(),
        query,
        delivery_to_json,
        defaults,
        orderable={"id": NotificationDelivery.id, "build_id": NotificationDelivery.build_id},
    )
    return flask.jsonify(page)
