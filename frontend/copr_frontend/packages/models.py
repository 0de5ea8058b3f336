"""A package in a project: its source type and the source settings builds reuse."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_common.enums import BuildSourceEnum
from copr_frontend.db import Base, IntEnumType, now
from copr_frontend.projects.models import Project


class Package(Base):
    """A package of a project, with the default source its builds use."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    source_type: Mapped[BuildSourceEnum] = mapped_column(
        IntEnumType(BuildSourceEnum), default=BuildSourceEnum.unset, index=True
    )
    source_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    webhook_rebuild: Mapped[bool] = mapped_column(default=False, index=True)
    max_builds: Mapped[int] = mapped_column(default=0)
    """Keep at most this many builds of the package; 0 keeps them all."""
    chroot_denylist: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Chroot name patterns this package is never built for."""
    timeout: Mapped[int | None] = mapped_column(default=None)
    """Build timeout in seconds for this package's builds when the request names none."""
    builder_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Builder tags (``on_demand_powerful``, say) every build of the package asks for;
    set by an admin with ``copr-frontend builder-tags``."""
    upstream_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    """The spec's ``URL`` tag as of the newest successful source build in the project's
    main dir: the packager's text, shown as a link only when it is http(s)."""
    spec_commit: Mapped[str | None] = mapped_column(String(64), default=None)
    """The dist-git commit of the newest import in the main dir; the spec is linked at it."""
    created_on: Mapped[int] = mapped_column(default=now)

    project: Mapped[Project] = relationship(back_populates="packages")
