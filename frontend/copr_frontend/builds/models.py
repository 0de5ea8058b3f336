"""Builds and build chroots.

A build's overall ``state`` is a stored, indexed column: every change of its source
status or of a chroot's status goes through :mod:`copr_frontend.builds.states`, which
recomputes it, so listing "all running builds" is a plain indexed query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copr_common.enums import FINISHED_STATES, BuildSourceEnum, FailTypeEnum, StatusEnum
from copr_frontend.db import Base, IntEnumType, now
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.users.models import User

_UNFINISHED = "state NOT IN ({})".format(", ".join(str(int(s)) for s in sorted(FINISHED_STATES)))
"""SQL: the build has not finished (what the partial index of unfinished builds holds)."""

QUEUED_STATES = (StatusEnum.pending, StatusEnum.starting, StatusEnum.running)
"""Task states the backend's queue lists: a backend restart may leave starting/running ones."""


def _queued(column: str) -> str:
    """SQL: the task is in the backend's queue (what the queue's partial indexes hold)."""
    return "{} IN ({})".format(column, ", ".join(str(int(s)) for s in sorted(QUEUED_STATES)))


def sandbox_name(ownername: str, dirname: str, submitter: str | None) -> str:
    """Builds of one owner, project dir and submitter may share a builder.

    A function of the three names, so that the backend's queue, which reads them as
    plain columns, names the sandbox as :attr:`Build.sandbox` does.
    """
    return f"{ownername}/{dirname}--{submitter or 'unknown'}"


def queue_keys(build: Build) -> None:
    """Set the build's and its tasks' fair-share groups (``queue_key``) and the tasks'
    ``is_background``: what the backend's queue indexes, set once when they are made.

    The backend counts a task's rank among the tasks of its owner, sandbox and arch (the
    source build's arch: ``srpm``); the sandbox names the owner, so it and the arch are
    the group.
    """
    build.queue_key = build.sandbox
    for chroot in build.chroots:
        chroot.queue_key = f"{build.queue_key} {chroot.mock_chroot.arch}"
        chroot.is_background = bool(build.is_background)


class Batch(Base):
    """Builds submitted together; a batch waits until ``blocked_by`` has finished.

    ``with_build_id`` puts a new build into that build's batch; ``after_build_id`` puts
    it into a new batch blocked by that build's batch.
    """

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    blocked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), index=True
    )

    blocked_by: Mapped[Batch | None] = relationship(remote_side=[id])
    builds: Mapped[list[Build]] = relationship(back_populates="batch", order_by="Build.id")


class Build(Base):
    """A build of a package in a project: its source, state and per-chroot builds."""

    __tablename__ = "builds"
    __table_args__ = (
        # The monitor's probe: a package's newest build in a dir (builds.logic).
        Index("ix_builds_package_id_dir_id_id", "package_id", "dir_id", "id"),
        # A project's builds page, newest first, with or without a state filter.
        Index("ix_builds_project_id_id", "project_id", "id"),
        Index("ix_builds_project_id_state_id", "project_id", "state", "id"),
        # The queue's batch check: does a blocking batch still hold an unfinished build?
        # Only unfinished builds are in it, so it stays as small as the queue.
        Index(
            "ix_builds_unfinished_batch_id",
            "batch_id",
            postgresql_where=text(_UNFINISHED),
            sqlite_where=text(_UNFINISHED),
        ),
        # The queue's source builds, group by group in queue order (backend_api.queue).
        Index(
            "ix_builds_queue",
            "queue_key",
            "is_background",
            "id",
            postgresql_where=text(_queued("source_status")),
            sqlite_where=text(_queued("source_status")),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dir_id: Mapped[int] = mapped_column(
        ForeignKey("project_dirs.id", ondelete="CASCADE"), index=True
    )
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    """Who submitted it when that is not a user (e.g. ``GitHub webhook``)."""
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), index=True
    )
    resubmitted_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("builds.id", ondelete="SET NULL")
    )
    triggered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("builds.id", ondelete="SET NULL")
    )
    """The build whose changed Provides queued this one (:mod:`.dependents`)."""
    rebuild_wave_id: Mapped[int | None] = mapped_column(
        ForeignKey("rebuild_waves.id", ondelete="SET NULL"), index=True
    )
    provides_changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Chroots where this build changed what its package provides (:mod:`.dependents`)."""

    state: Mapped[StatusEnum] = mapped_column(
        IntEnumType(StatusEnum), default=StatusEnum.pending, index=True
    )
    source_status: Mapped[StatusEnum] = mapped_column(
        IntEnumType(StatusEnum), default=StatusEnum.pending, index=True
    )
    canceled: Mapped[bool] = mapped_column(default=False, index=True)
    fail_type: Mapped[FailTypeEnum] = mapped_column(
        IntEnumType(FailTypeEnum), default=FailTypeEnum.unset
    )
    fail_reason: Mapped[str | None] = mapped_column(Text)
    """Why the source build or the dist-git import failed, as the backend or dist-git said."""

    source_type: Mapped[BuildSourceEnum] = mapped_column(
        IntEnumType(BuildSourceEnum), default=BuildSourceEnum.unset
    )
    source_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the source build reported: name, epoch, version, release, (exclude|exclusive)arch."""
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """When the build's own stages happened (Unix seconds): see :mod:`.timings`."""
    pkg_name: Mapped[str | None] = mapped_column(String(200), index=True)
    pkg_version: Mapped[str | None] = mapped_column(String(200))
    srpm_url: Mapped[str | None] = mapped_column(Text)
    result_dir: Mapped[str] = mapped_column(String(200), default="")
    source_result_size: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes the source build's results take in the results tree, as the backend reported
    them when it ended (None: not reported); counted against the owner's quota (the
    project's storage counter, :mod:`copr_frontend.quotas.accounting`)."""

    timeout: Mapped[int] = mapped_column(Integer, default=5 * 3600)
    enable_net: Mapped[bool] = mapped_column(default=False)
    is_background: Mapped[bool] = mapped_column(default=False, index=True)
    queue_key: Mapped[str] = mapped_column(String(400))
    """The fair-share group of the source build in the backend's queue: its sandbox,
    fixed at submission (:func:`queue_keys`)."""
    memory_reqs: Mapped[int] = mapped_column(Integer, default=2048)
    bootstrap: Mapped[str | None] = mapped_column(String(20))
    bootstrap_image: Mapped[str | None] = mapped_column(String(300))
    isolation: Mapped[str | None] = mapped_column(String(20))
    appstream: Mapped[bool] = mapped_column(default=False)

    scm_object_id: Mapped[str | None] = mapped_column(String(200))
    scm_object_type: Mapped[str | None] = mapped_column(String(50))
    scm_object_url: Mapped[str | None] = mapped_column(Text)

    submitted_on: Mapped[int] = mapped_column(Integer, default=now, index=True)
    started_on: Mapped[int | None] = mapped_column(Integer)
    ended_on: Mapped[int | None] = mapped_column(Integer, index=True)

    project: Mapped[Project] = relationship()
    dir: Mapped[ProjectDir] = relationship()
    package: Mapped[Package | None] = relationship()
    user: Mapped[User | None] = relationship()
    batch: Mapped[Batch | None] = relationship(back_populates="builds")
    triggered_by: Mapped[Build | None] = relationship(
        remote_side=[id], foreign_keys=[triggered_by_id]
    )
    rebuild_wave: Mapped[RebuildWave | None] = relationship()
    chroots: Mapped[list[BuildChroot]] = relationship(
        back_populates="build", cascade="all, delete-orphan", order_by="BuildChroot.id"
    )
    exclusions: Mapped[list[BuildChrootExclusion]] = relationship(
        back_populates="build", cascade="all, delete-orphan"
    )

    @property
    def task_id(self) -> str:
        """The source build's task id: just the build id."""
        return str(self.id)

    @property
    def submitter(self) -> str | None:
        return self.user.name if self.user is not None else self.submitted_by

    @property
    def sandbox(self) -> str:
        return sandbox_name(self.project.ownername, self.dir.name, self.submitter)

    @property
    def package_name(self) -> str | None:
        return self.package.name if self.package is not None else self.pkg_name

    def chroot(self, name: str) -> BuildChroot | None:
        return next((c for c in self.chroots if c.name == name), None)

    def __repr__(self) -> str:
        return f"<Build {self.id} {self.state.label}>"


class BuildChroot(Base):
    """One RPM build task: a build in one chroot (task id ``<build_id>-<chroot>``)."""

    __tablename__ = "build_chroots"
    __table_args__ = (
        UniqueConstraint("build_id", "mock_chroot_id"),
        # The queue's RPM tasks, group by group in queue order (backend_api.queue).
        Index(
            "ix_build_chroots_queue",
            "queue_key",
            "is_background",
            "build_id",
            "id",
            postgresql_where=text(_queued("status")),
            sqlite_where=text(_queued("status")),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    mock_chroot_id: Mapped[int] = mapped_column(ForeignKey("mock_chroots.id"), index=True)
    status: Mapped[StatusEnum] = mapped_column(
        IntEnumType(StatusEnum), default=StatusEnum.waiting, index=True
    )
    git_hash: Mapped[str | None] = mapped_column(String(64))
    started_on: Mapped[int | None] = mapped_column(Integer)
    ended_on: Mapped[int | None] = mapped_column(Integer, index=True)
    result_dir: Mapped[str] = mapped_column(String(200), default="")
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the backend reported for the finished task (``{"packages": [...]}``)."""
    fail_reason: Mapped[str | None] = mapped_column(Text)
    """Why the task did not succeed, as the backend reported it."""
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes the task's results take in the results tree, as the backend reported them
    when it ended (None: not reported); counted against the owner's quota."""
    buildroot: Mapped[str | None] = mapped_column(String(20))
    """What built it: ``mock`` (a mock chroot) or ``host`` (the builder's own system)."""
    buildrequires_not_installed: Mapped[list[str] | None] = mapped_column(JSON)
    """The spec's BuildRequires that buildroot did not install (the host installs none)."""
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """When the task's stages happened (Unix seconds), as the backend reported them."""
    queue_key: Mapped[str] = mapped_column(String(420))
    """The task's fair-share group in the backend's queue: its build's sandbox and its
    arch (:func:`queue_keys`)."""
    is_background: Mapped[bool] = mapped_column()
    """The build's ``is_background``, beside ``queue_key`` for the queue's index."""

    build: Mapped[Build] = relationship(back_populates="chroots")
    mock_chroot: Mapped[MockChroot] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.mock_chroot.name

    @property
    def task_id(self) -> str:
        return f"{self.build_id}-{self.name}"


class BuildChrootExclusion(Base):
    """A chroot of the project that a build was not made for, and why."""

    __tablename__ = "build_chroot_exclusions"

    build_id: Mapped[int] = mapped_column(
        ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True
    )
    mock_chroot_id: Mapped[int] = mapped_column(ForeignKey("mock_chroots.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(50))
    """``exclude_chroots`` (asked by the submitter) or ``denylist`` (the package's)."""

    build: Mapped[Build] = relationship(back_populates="exclusions")
    mock_chroot: Mapped[MockChroot] = relationship(lazy="joined")


class CancelRequest(Base):
    """A task the backend must stop: ``<build_id>`` (source) or ``<build_id>-<chroot>``."""

    __tablename__ = "cancel_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    what: Mapped[str] = mapped_column(String(200), unique=True)
    created_on: Mapped[int] = mapped_column(default=now)


class RebuildWave(Base):
    """The rebuilds of dependents one build's changed Provides queued (:mod:`.dependents`)."""

    __tablename__ = "rebuild_waves"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    """The project of the build that triggered the wave (its admins may cancel it)."""
    trigger_build_id: Mapped[int] = mapped_column(Integer)
    """No foreign key: builds refer to their wave, and the trigger may be pruned."""
    cycles: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    """Dependency cycles met and broken, each as ``owner/project/package`` names from the
    package it was broken at: each BuildRequires the next, the last the first."""
    created_on: Mapped[int] = mapped_column(default=now)

    project: Mapped[Project] = relationship()


class PackageDependencies(Base):
    """What a package's latest succeeded build provides and requires in one chroot.

    ``provides``: the names its RPMs provide and the files they hold; ``requires``:
    the names its SRPM requires (its BuildRequires), versions dropped.
    """

    __tablename__ = "package_dependencies"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    mock_chroot_id: Mapped[int] = mapped_column(ForeignKey("mock_chroots.id"), primary_key=True)
    build_id: Mapped[int | None] = mapped_column(ForeignKey("builds.id", ondelete="SET NULL"))
    provides: Mapped[list[str]] = mapped_column(JSON, default=list)
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)

    mock_chroot: Mapped[MockChroot] = relationship(lazy="joined")
