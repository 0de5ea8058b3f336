"""Rights a user holds in someone else's project, with the request/approve flow.

Each right is a :class:`~copr_common.enums.PermissionEnum`: ``nothing``, ``request``
(the user asked) or ``approved`` (an admin of the project granted it).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_common.enums import PermissionEnum
from copr_frontend.db import Base, IntEnumType
from copr_frontend.projects.models import Project
from copr_frontend.users.models import User


class ProjectPermission(Base):
    """A user's builder and admin permissions on a project (asked for or granted)."""

    __tablename__ = "project_permissions"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    copr_builder: Mapped[PermissionEnum] = mapped_column(
        IntEnumType(PermissionEnum), default=PermissionEnum.nothing
    )
    copr_admin: Mapped[PermissionEnum] = mapped_column(
        IntEnumType(PermissionEnum), default=PermissionEnum.nothing
    )

    project: Mapped[Project] = relationship()
    user: Mapped[User] = relationship()
