"""A project, its dirs and its chroots.

A project belongs to a user, or to a group when ``group_id`` is set; ``ownername`` holds
``<user>`` or ``@<group>`` so that lookups by the names clients send are one indexed
query.  ``user_id`` is always the user who created it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_frontend.db import Base, now
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.users.models import Group, User

if TYPE_CHECKING:
    from copr_frontend.packages.models import Package


class Project(Base):
    """A Copr project: its owner, settings, chroots and builds."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("ownername", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    ownername: Mapped[str] = mapped_column(String(101), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)

    description: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    additional_repos: Mapped[list[str]] = mapped_column(JSON, default=list)
    enable_net: Mapped[bool] = mapped_column(default=False)
    auto_prune: Mapped[bool] = mapped_column(default=True)
    """Prune old results as Copr does (see :mod:`copr_frontend.builds.retention`)."""
    keep_builds: Mapped[int | None] = mapped_column(Integer)
    """Keep only the newest this many finished builds of each package in each chroot
    (and project dir); None keeps them all.  Ours, not Copr's."""
    unlisted_on_hp: Mapped[bool] = mapped_column(default=False, index=True)
    devel_mode: Mapped[bool] = mapped_column(default=False)
    persistent: Mapped[bool] = mapped_column(default=False)
    bootstrap: Mapped[str] = mapped_column(String(20), default="default")
    isolation: Mapped[str] = mapped_column(String(20), default="default")
    module_hotfixes: Mapped[bool] = mapped_column(default=False)
    runtime_dependencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    delete_after: Mapped[int | None] = mapped_column(Integer, index=True)
    """Unix time after which a temporary project is deleted; None keeps it."""
    appstream: Mapped[bool] = mapped_column(default=False)
    packit_forge_projects_allowed: Mapped[list[str]] = mapped_column(JSON, default=list)
    repo_priority: Mapped[int | None] = mapped_column(Integer)
    follow_fedora_branching: Mapped[bool] = mapped_column(default=True)
    fedora_review: Mapped[bool] = mapped_column(default=False)
    require_real_buildroot: Mapped[bool] = mapped_column(default=False)
    rpmlint_fail_on_errors: Mapped[bool] = mapped_column(default=False)
    rebuild_dependents: Mapped[str] = mapped_column(String(20), default="off")
    """``off``, ``direct`` or ``transitive``: what a changed dependency rebuilds here."""
    """A build whose packages rpmlint reports an error in fails (rpmlint runs on every
    build; this makes its errors count)."""
    """Builds must run in a mock chroot: on a host-only builder (which does not install
    BuildRequires) they fail instead of succeeding without their build dependencies."""
    email_notifications: Mapped[bool] = mapped_column(default=False)
    """The project's opt-in to e-mail the submitter of a build when it ends (to users who
    opted in themselves)."""
    storage_usage: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Bytes its builds' results take, kept by every flush
    (:mod:`copr_frontend.quotas.accounting`)."""
    webhook_secret: Mapped[str] = mapped_column(String(64), default="")
    forked_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    created_on: Mapped[int] = mapped_column(default=now)

    user: Mapped[User] = relationship()
    group: Mapped[Group | None] = relationship()
    forked_from: Mapped[Project | None] = relationship(remote_side=[id])
    dirs: Mapped[list[ProjectDir]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectDir.id"
    )
    chroots: Mapped[list[ProjectChroot]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectChroot.id"
    )
    packages: Mapped[list[Package]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Package.name"
    )

    @property
    def full_name(self) -> str:
        return f"{self.ownername}/{self.name}"

    @property
    def is_group_project(self) -> bool:
        return self.group_id is not None

    @property
    def main_dir(self) -> ProjectDir:
        return next(d for d in self.dirs if d.main)

    @property
    def active_chroots(self) -> list[ProjectChroot]:
        """Enabled chroots whose mock chroot is active, sorted by name."""
        return sorted(
            (c for c in self.chroots if not c.deleted and c.mock_chroot.is_active),
            key=lambda c: c.name,
        )

    def __repr__(self) -> str:
        return f"<Project {self.full_name}>"


class ProjectDir(Base):
    """Where builds land: the project itself, a pull-request dir or a custom dir."""

    __tablename__ = "project_dirs"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    main: Mapped[bool] = mapped_column(default=False)

    project: Mapped[Project] = relationship(back_populates="dirs")

    @property
    def full_name(self) -> str:
        return f"{self.project.ownername}/{self.name}"


class ProjectChroot(Base):
    """A chroot enabled in a project, with its per-chroot build configuration."""

    __tablename__ = "project_chroots"
    __table_args__ = (UniqueConstraint("project_id", "mock_chroot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    mock_chroot_id: Mapped[int] = mapped_column(ForeignKey("mock_chroots.id"), index=True)
    buildroot_pkgs: Mapped[list[str]] = mapped_column(JSON, default=list)
    repos: Mapped[list[str]] = mapped_column(JSON, default=list)
    comps_name: Mapped[str | None] = mapped_column(String(200))
    comps: Mapped[str | None] = mapped_column(Text)
    with_opts: Mapped[list[str]] = mapped_column(JSON, default=list)
    without_opts: Mapped[list[str]] = mapped_column(JSON, default=list)
    module_toggle: Mapped[list[str]] = mapped_column(JSON, default=list)
    isolation: Mapped[str] = mapped_column(String(20), default="unchanged")
    bootstrap: Mapped[str] = mapped_column(String(20), default="unchanged")
    bootstrap_image: Mapped[str | None] = mapped_column(String(300))
    builder_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Builder tags every build in this chroot of the project asks for; set by an admin
    with ``copr-frontend builder-tags``."""
    deleted: Mapped[bool] = mapped_column(default=False, index=True)
    """Disabled in the project; the results stay until ``delete_after``."""
    delete_after: Mapped[int | None] = mapped_column(Integer, index=True)

    project: Mapped[Project] = relationship(back_populates="chroots")
    mock_chroot: Mapped[MockChroot] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.mock_chroot.name
