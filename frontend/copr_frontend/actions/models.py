"""An action queued for the backend; ``result`` stays ``waiting`` until it reports back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_common.enums import ActionTypeEnum, BackendResultEnum
from copr_frontend.db import Base, IntEnumType, now
from copr_frontend.projects.models import Project


class Action(Base):
    """A task for the backend (createrepo, delete, fork, key...) and its result."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_type: Mapped[ActionTypeEnum] = mapped_column(IntEnumType(ActionTypeEnum), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    """``copr``, ``build``, ``chroot``, ``builds`` ... what ``object_id`` names."""
    object_id: Mapped[int | None] = mapped_column(Integer)
    old_value: Mapped[str | None] = mapped_column(String(300))
    new_value: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[BackendResultEnum] = mapped_column(
        IntEnumType(BackendResultEnum), default=BackendResultEnum.waiting, index=True
    )
    message: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    """Lower runs earlier (-100..100); see DefaultActionPriorityEnum."""
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    created_on: Mapped[int] = mapped_column(default=now)
    ended_on: Mapped[int | None] = mapped_column(Integer)

    project: Mapped[Project | None] = relationship()
