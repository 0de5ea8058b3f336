"""The notification dispatcher's part of the backend API; all of it needs the backend
password (the pending deliveries carry endpoint URLs and their signatures).

``POST /backend/notification-events/``  ``{"events": [{"topic", "build", "chroot"}]}``:
     the build messages the backend's workers sent; the answer counts the deliveries made
``GET  /backend/pending-deliveries/?limit=N``: the deliveries due now, each
     ``{"id", "url", "body", "headers"}`` with the signature in the headers
``POST /backend/delivery-results/``  ``{"results": [{"id", "ok", "status_code", "error"}]}``:
     the outcome of each attempt; the frontend schedules the retries
``POST /backend/send-mail/``  ``{"limit"?}``: the frontend sends the e-mail due now through
     its SMTP server (:mod:`~copr_frontend.notifications.mail`) and answers the counts
     ``{"sent", "failed", "retrying"}``; the backend only says when

A malformed request is a 400 and changes nothing.
"""

from __future__ import annotations

from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api.errors import BadRequest
from copr_frontend.backend_api.views import _json_object, _route, backend_authenticated
from copr_frontend.context import settings
from copr_frontend.notifications import logic, mail
from copr_frontend.validation import to_int

MAX_BATCH = 1000
MAX_ID = 2**31 - 1
# An id beyond MAX_ID names no row (it is skipped), but is still an id, not an error.
ANY_ID = 2**63
DEFAULT_DUE = 50


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRequest(f"{key!r} must be a list of objects")
    if len(entries) > MAX_BATCH:
        raise BadRequest(f"at most {MAX_BATCH} {key} at once")
    return entries


@_route("/notification-events/", ("POST",))
@backend_authenticated
def notification_events() -> flask.Response:
    entries = _entries(_json_object(), "events")
    parsed = []
    for entry in entries:
        topic, chroot = entry.get("topic"), entry.get("chroot")
        if not isinstance(topic, str) or not isinstance(chroot, str):
            raise BadRequest("every event needs a 'topic' and a 'chroot' (text)")
        build_id = to_int(entry.get("build"), "build", required=True, limit=ANY_ID)
        if 0 < build_id <= MAX_ID:  # no such build otherwise: nothing to notify
            parsed.append((topic, build_id, chroot))
    session = db.session()
    made = mails = 0
    for topic, build_id, chroot in parsed:
        made += len(logic.record_task_event(session, settings(), topic, build_id, chroot))
        mails += len(mail.record_build_mail(session, settings(), topic, build_id))
    session.commit()
    return flask.jsonify({"deliveries": made, "mails": mails})


@_route("/pending-deliveries/")
@backend_authenticated
def pending_deliveries() -> flask.Response:
    raw = flask.request.args.get("limit")
    given = to_int(raw, "limit")
    limit = DEFAULT_DUE if given is None else given
    if not 1 <= limit <= MAX_BATCH:
        raise BadRequest(f"'limit' must be between 1 and {MAX_BATCH}")
    due = logic.due_deliveries(db.session(), limit)
    return flask.jsonify([logic.delivery_request(d) for d in due])


@_route("/delivery-results/", ("POST",))
@backend_authenticated
def delivery_results() -> flask.Response:
    entries = _entries(_json_object(), "results")
    results = []
    for entry in entries:
        code = entry.get("status_code")
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise BadRequest("'status_code' must be an integer or null")
        error = entry.get("error")
        if error is not None and not isinstance(error, str):
            raise BadRequest("'error' must be text or null")
        if not isinstance(entry.get("ok"), bool):
            raise BadRequest("'ok' must be true or false")
        delivery_id = to_int(entry.get("id"), "id", required=True, limit=ANY_ID)
        if 0 < delivery_id <= MAX_ID:
            results.append(
                {"id": delivery_id, "ok": entry["ok"], "status_code": code, "error": error}
            )
    session = db.session()
    updated = logic.record_results(session, settings(), results)
    session.commit()
    return flask.jsonify({"updated": updated})


@_route("/send-mail/", ("POST",))
@backend_authenticated
def send_mail() -> flask.Response:
    data = _json_object()
    given = to_int(data.get("limit"), "limit")
    limit = mail.DEFAULT_BATCH if given is None else given
    if not 1 <= limit <= mail.MAX_BATCH:
        raise BadRequest(f"'limit' must be between 1 and {mail.MAX_BATCH}")
    session = db.session()
    counts = mail.send_due_mail(session, settings(), limit)
    session.commit()
    return flask.jsonify(counts)
