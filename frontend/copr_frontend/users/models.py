"""Users, groups (``@group`` owners) and group memberships."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_frontend.db import Base, now


class User(Base):
    """A user account, with its API login and token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mail: Mapped[str] = mapped_column(String(200), default="")
    email_notifications: Mapped[bool] = mapped_column(default=False)
    """The user's opt-in to an e-mail when a build they submitted ends (sent only where
    the build's project opts in too)."""
    password_hash: Mapped[str | None] = mapped_column(Text)
    admin: Mapped[bool] = mapped_column(default=False)
    proven: Mapped[bool] = mapped_column(default=False)
    """A proven packager may ask for longer build timeouts and more resources."""
    api_login: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64))
    """sha256 of the API token: the token itself is shown once and never stored."""
    api_token_expires_on: Mapped[int | None] = mapped_column(Integer)
    created_on: Mapped[int] = mapped_column(default=now)

    groups: Mapped[list[Group]] = relationship(
        secondary="group_memberships", back_populates="members", order_by="Group.name"
    )

    def __repr__(self) -> str:
        return f"<User {self.name}>"


class Group(Base):
    """A group of users that can own projects (as ``@<name>``)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    """Without the ``@``; projects it owns have the owner name ``@<name>``."""
    created_on: Mapped[int] = mapped_column(default=now)

    members: Mapped[list[User]] = relationship(
        secondary="group_memberships", back_populates="groups", order_by="User.name"
    )

    @property
    def at_name(self) -> str:
        return f"@{self.name}"


class GroupMembership(Base):
    """A user's membership of a group."""

    __tablename__ = "group_memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
