"""Notification endpoints and their deliveries.  Never commits.

The retry policy lives here, in one place: a failed attempt is retried after
``notification_retry_base`` seconds, each further retry waiting twice as long (at most
``notification_retry_max``), until ``notification_max_attempts``; then the delivery has
failed.  Endpoints answer slowly or go away for a while, so backing off gives them time
without piling up requests; a bounded number of attempts keeps a dead endpoint from
being asked forever.  After ``notification_failure_limit`` failed attempts in a row (no
success between them) the endpoint itself is disabled, with the reason, and its pending
deliveries are given up; its admins enable it again when it is fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_frontend.builds.models import Build
from copr_frontend.db import now
from copr_frontend.notifications.events import EVENTS, event_body, events_of
from copr_frontend.notifications.models import (
    DELIVERED,
    FAILED,
    PENDING,
    EmailDelivery,
    NotificationDelivery,
    NotificationEndpoint,
)
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings

MAX_ENDPOINTS = 20
"""Endpoints one project may have."""
MAX_URL = 2000
SIGNATURE_HEADER = "X-Copr-Signature-256"
USER_AGENT = "Copr-Notifications/1"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class NotificationError(ValueError):
    """An endpoint that cannot be added or changed as asked; the message says why."""


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_loopback_http: bool) -> str:
    """``url`` if it may receive notifications: ``https://``, or ``http://`` to a loopback
    address where the settings allow it.  Addresses inside this network (private,
    link-local, loopback) are refused unless loopback is allowed.
    """
    text = url.strip()
    if not text or len(text) > MAX_URL or any(c.isspace() for c in text):
        raise NotificationError(f"the endpoint URL must be a URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise NotificationError(f"the endpoint URL {text!r} is not a valid URL") from None
    if not host:
        raise NotificationError(f"the endpoint URL {text!r} has no host")
    loopback = _is_loopback(host)
    if parts.scheme == "http":
        if not (allow_loopback_http and loopback):
            raise NotificationError("the endpoint URL must be https://")
    elif parts.scheme != "https":
        raise NotificationError("the endpoint URL must be https://")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    internal = address is not None and (
        address.is_private or address.is_loopback or address.is_link_local
    )
    if internal and not (loopback and allow_loopback_http):
        raise NotificationError(f"the endpoint URL may not point into this network ({host})")
    return text


def check_events(events: Iterable[str] | None) -> list[str]:
    """The events to subscribe to, in their canonical order (None: all of them)."""
    if events is None:
        return list(EVENTS)
    given = list(dict.fromkeys(events))
    unknown = [e for e in given if e not in EVENTS]
    if unknown:
        raise NotificationError(
            f"unknown events {', '.join(unknown)}: choose from {', '.join(EVENTS)}"
        )
    if not given:
        raise NotificationError(f"choose at least one event of {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in given]


def project_endpoints(session: Session, project: Project) -> list[NotificationEndpoint]:
    query = (
        select(NotificationEndpoint)
        .where(NotificationEndpoint.project_id == project.id)
        .order_by(NotificationEndpoint.id)
    )
    return list(session.scalars(query))


def get_endpoint(
    session: Session, project: Project, endpoint_id: int
) -> NotificationEndpoint | None:
    endpoint = session.get(NotificationEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.project_id == project.id else None


def add_endpoint(
    session: Session,
    settings: FrontendSettings,
    project: Project,
    url: str,
    *,
    events: Iterable[str] | None = None,
    secret: str | None = None,
) -> NotificationEndpoint:
    checked = check_url(url, settings.notification_allow_loopback_http)
    chosen = check_events(events)
    if secret is not None and not (16 <= len(secret) <= 200 and secret.isprintable()):
        raise NotificationError("the secret must be 16 to 200 printable characters")
    if len(project_endpoints(session, project)) >= MAX_ENDPOINTS:
        raise NotificationError(f"{project.full_name} already has {MAX_ENDPOINTS} endpoints")
    endpoint = NotificationEndpoint(
        project=project, url=checked, events=chosen, secret=secret or secrets.token_hex(20)
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def edit_endpoint(
    settings: FrontendSettings,
    endpoint: NotificationEndpoint,
    *,
    url: str | None = None,
    events: Iterable[str] | None = None,
    enabled: bool | None = None,
) -> None:
    if url is not None:
        endpoint.url = check_url(url, settings.notification_allow_loopback_http)
    if events is not None:
        endpoint.events = check_events(events)
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = None
            endpoint.failures_in_row = 0
        else:
            endpoint.disabled_reason = "disabled by an admin of the project"


def delete_endpoint(session: Session, endpoint: NotificationEndpoint) -> None:
    session.delete(endpoint)
    session.flush()


# --- events → deliveries --------------------------------------------------------------------


def record_task_event(
    session: Session, settings: FrontendSettings, topic: str, build_id: int, chroot: str
) -> list[NotificationDelivery]:
    """The deliveries a backend build message makes: one per event it stands for and
    enabled endpoint of the build's project subscribed to it.  An event already recorded
    for an endpoint is not recorded again.
    """
    build = session.get(Build, build_id)
    if build is None:
        return []
    endpoints = [e for e in project_endpoints(session, build.project) if e.enabled and e.events]
    if not endpoints:
        return []
    made = []
    for event, event_chroot in events_of(topic, chroot, build):
        payload: str | None = None
        for endpoint in endpoints:
            if event not in endpoint.events:
                continue
            exists = session.scalar(
                select(NotificationDelivery.id).where(
                    NotificationDelivery.endpoint_id == endpoint.id,
                    NotificationDelivery.event == event,
                    NotificationDelivery.build_id == build.id,
                    NotificationDelivery.chroot == event_chroot,
                )
            )
            if exists is not None:
                continue
            if payload is None:
                payload = json.dumps(event_body(event, build, event_chroot, settings))
            delivery = NotificationDelivery(
                endpoint=endpoint,
                event=event,
                build_id=build.id,
                chroot=event_chroot,
                payload=payload,
                state=PENDING,
                next_attempt_on=now(),
            )
            session.add(delivery)
            made.append(delivery)
    session.flush()
    return made


def due_deliveries(
    session: Session, limit: int, at: int | None = None
) -> list[NotificationDelivery]:
    """Pending deliveries of enabled endpoints whose next attempt is due, oldest first."""
    query = (
        select(NotificationDelivery)
        .join(NotificationEndpoint, NotificationEndpoint.id == NotificationDelivery.endpoint_id)
        .where(
            NotificationDelivery.state == PENDING,
            NotificationDelivery.next_attempt_on <= (now() if at is None else at),
            NotificationEndpoint.enabled.is_(True),
        )
        .order_by(NotificationDelivery.next_attempt_on, NotificationDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_request(delivery: NotificationDelivery) -> dict[str, Any]:
    """What the backend sends: the URL, the body and the headers, the signature included."""
    body = delivery.payload.encode()
    return {
        "id": delivery.id,
        "url": delivery.endpoint.url,
        "body": delivery.payload,
        "headers": {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Copr-Event": delivery.event,
            "X-Copr-Delivery": str(delivery.id),
            SIGNATURE_HEADER: signature(delivery.endpoint.secret, body),
        },
    }


def retry_delay(settings: FrontendSettings, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return float(
        min(settings.notification_retry_base * 2 ** (attempts - 1), settings.notification_retry_max)
    )


def record_attempt(
    session: Session,
    settings: FrontendSettings,
    delivery: NotificationDelivery,
    *,
    ok: bool,
    response_code: int | None,
    error: str | None,
    at: int | None = None,
) -> None:
    """The outcome of one attempt: delivered, due again later, or failed for good."""
    if delivery.state != PENDING:
        return  # a late or repeated report
    # The exact time: rounded down to whole seconds, the next attempt could come up to a
    # second before its delay is over.
    exact = time.time() if at is None else float(at)
    when = int(exact)
    endpoint = delivery.endpoint
    delivery.attempts += 1
    delivery.last_attempt_on = when
    delivery.response_code = response_code
    if ok:
        delivery.state = DELIVERED
        delivery.delivered_on = when
        delivery.next_attempt_on = None
        delivery.last_error = None
        endpoint.failures_in_row = 0
        return
    delivery.last_error = (error or f"HTTP {response_code}")[:2000]
    endpoint.failures_in_row += 1
    if delivery.attempts >= settings.notification_max_attempts:
        delivery.state = FAILED
        delivery.next_attempt_on = None
    else:
        delivery.next_attempt_on = math.ceil(exact + retry_delay(settings, delivery.attempts))
    if endpoint.enabled and endpoint.failures_in_row >= settings.notification_failure_limit:
        _disable(session, endpoint, delivery.last_error)


def _disable(session: Session, endpoint: NotificationEndpoint, last_error: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"disabled after {endpoint.failures_in_row} failed attempts in a row; the last: "
        f"{last_error}"
    )[:2000]
    pending = session.scalars(
        select(NotificationDelivery).where(
            NotificationDelivery.endpoint_id == endpoint.id, NotificationDelivery.state == PENDING
        )
    )
    for delivery in pending:
        delivery.state = FAILED
        delivery.next_attempt_on = None
        delivery.last_error = delivery.last_error or "the endpoint was disabled"


def record_results(
    session: Session, settings: FrontendSettings, results: Iterable[Mapping[str, Any]]
) -> list[int]:
    """Apply the backend's report of attempts; the ids of the deliveries it named."""
    updated = []
    for result in results:
        delivery = session.get(NotificationDelivery, int(result["id"]))
        if delivery is None:
            continue
        record_attempt(
            session,
            settings,
            delivery,
            ok=bool(result.get("ok")),
            response_code=result.get("status_code"),
            error=result.get("error"),
        )
        updated.append(delivery.id)
    session.flush()
    return updated


def project_deliveries_query(
    project: Project, endpoint_id: int | None = None, state: str | None = None
) -> Any:
    query = (
        select(NotificationDelivery)
        .join(NotificationEndpoint, NotificationEndpoint.id == NotificationDelivery.endpoint_id)
        .where(NotificationEndpoint.project_id == project.id)
    )
    if endpoint_id is not None:
        query = query.where(NotificationDelivery.endpoint_id == endpoint_id)
    if state is not None:
        query = query.where(NotificationDelivery.state == state)
    return query


def prune_finished(
    session: Session,
    model: type[NotificationDelivery] | type[EmailDelivery],
    days: int,
    at: int | None = None,
) -> int:
    """Forget the finished (not pending) deliveries of ``model`` — HTTP ones or build
    e-mail — older than ``days``; how many went.
    """
    cutoff = (now() if at is None else at) - days * 24 * 3600
    old = list(
        session.scalars(select(model).where(model.state != PENDING, model.created_on < cutoff))
    )
    for delivery in old:
        session.delete(delivery)
    session.flush()
    return len(old)


def prune_deliveries(session: Session, days: int, at: int | None = None) -> int:
    """Forget finished HTTP deliveries older than ``days``; how many went."""
    return prune_finished(session, NotificationDelivery, days, at)
