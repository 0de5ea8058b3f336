"""A project's notification endpoints, every delivery of an event to one of them, and
the e-mails to the submitters of builds that ended.

A delivery is unique per (endpoint, event, build, chroot): an event the backend reports
twice is delivered once.  Its ``state`` moves ``pending`` → ``delivered`` or ``failed``;
while pending, ``next_attempt_on`` says when it is due.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_frontend.db import Base, now
from copr_frontend.projects.models import Project

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATES = (PENDING, DELIVERED, FAILED)


class NotificationEndpoint(Base):
    """A project's HTTP endpoint that receives signed build notifications."""

    __tablename__ = "notification_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    """The HMAC-SHA256 key of the ``X-Copr-Signature-256`` header."""
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True, index=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    """Failed attempts since the last successful one."""
    created_on: Mapped[int] = mapped_column(default=now)

    project: Mapped[Project] = relationship()


class NotificationDelivery(Base):
    """One notification to one endpoint: its payload, attempts and state."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event", "build_id", "chroot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("notification_endpoints.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(30))
    build_id: Mapped[int] = mapped_column(Integer, index=True)
    """No foreign key: the history outlives a deleted build."""
    chroot: Mapped[str] = mapped_column(String(100), default="")
    payload: Mapped[str] = mapped_column(Text)
    """The JSON body exactly as sent (and signed)."""
    state: Mapped[str] = mapped_column(String(20), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[int | None] = mapped_column(Integer, index=True)
    last_attempt_on: Mapped[int | None] = mapped_column(Integer)
    delivered_on: Mapped[int | None] = mapped_column(Integer)
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[int] = mapped_column(default=now, index=True)

    endpoint: Mapped[NotificationEndpoint] = relationship()


class EmailDelivery(Base):
    """One e-mail about a build that ended, to its submitter: the message as composed when
    the build ended, its attempts and state (the states and the retry policy of
    :class:`NotificationDelivery`).  Unique per (build, recipient): a build's end reported
    twice mails once.
    """

    __tablename__ = "email_deliveries"
    __table_args__ = (UniqueConstraint("build_id", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(Integer, index=True)
    """No foreign key: the history outlives a deleted build."""
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[int | None] = mapped_column(Integer, index=True)
    last_attempt_on: Mapped[int | None] = mapped_column(Integer)
    delivered_on: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[int] = mapped_column(default=now, index=True)
