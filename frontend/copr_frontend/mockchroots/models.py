"""A mock chroot: ``<os_release>-<os_version>-<arch>``, e.g. ``fedora-41-x86_64``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from copr_frontend.db import Base


class MockChroot(Base):
    """A chroot projects can build for, e.g. ``fedora-41-x86_64``."""

    __tablename__ = "mock_chroots"
    __table_args__ = (UniqueConstraint("os_release", "os_version", "arch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    os_release: Mapped[str] = mapped_column(String(50))
    os_version: Mapped[str] = mapped_column(String(50))
    arch: Mapped[str] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=True, index=True)
    distgit_branch: Mapped[str] = mapped_column(String(50), index=True)
    """The dist-git branch builds for this chroot are imported to (e.g. ``f41``)."""
    comment: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Builder tags the backend matches when it leases a builder for this chroot."""

    @property
    def distro(self) -> str:
        return f"{self.os_release}-{self.os_version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "os_release": self.os_release,
            "os_version": self.os_version,
            "arch": self.arch,
            "is_active": self.is_active,
            "distgit_branch": self.distgit_branch,
            "comment": self.comment,
        }
