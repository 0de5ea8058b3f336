"""Model constraints on PostgreSQL: uniqueness, cascades, indexes on filtered columns."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from copr_common.enums import PermissionEnum, StatusEnum
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.builds.states import compute_state
from copr_frontend.projects.logic import ProjectError, add_project, get_or_create_dir
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.testing import Factory


def test_project_names_are_unique_per_owner(factory: Factory) -> None:
    alice, bob = factory.user("alice"), factory.user("bob")
    group = factory.group("team", members=[alice])
    factory.project(alice, "same")
    factory.project(bob, "same")
    factory.project(alice, "same", group=group)
    with pytest.raises(ProjectError, match="already exists"):
        add_project(factory.session, alice, "same")
    factory.session.rollback()
    factory.session.add(Project(name="same", ownername="alice", user=alice))
    with pytest.raises(IntegrityError):
        factory.session.flush()
    factory.session.rollback()
    with pytest.raises(ProjectError, match="invalid"):
        add_project(factory.session, alice, "bad/name")


def test_project_dirs(factory: Factory) -> None:
    project = factory.project(name="proj")
    session = factory.session
    assert get_or_create_dir(session, project, "proj:pr:12").name == "proj:pr:12"
    assert get_or_create_dir(session, project, "proj:pr:12").main is False
    assert get_or_create_dir(session, project, "proj").main is True
    for bad in ("other:pr:1", "proj:pr:x", "proj:weird:1"):
        with pytest.raises(ProjectError):
            get_or_create_dir(session, project, bad)
    session.commit()
    assert session.query(ProjectDir).filter_by(project_id=project.id).count() == 2


def test_deleting_a_project_removes_what_belongs_to_it(factory: Factory) -> None:
    owner, other = factory.user(), factory.user()
    project = factory.project(owner, chroots=["fedora-42-x86_64", "epel-9-x86_64"])
    package = factory.package(project, "hello")
    factory.build(project, package=package)
    factory.grant(project, other, builder=PermissionEnum.approved)
    session = factory.session
    session.delete(project)
    session.commit()
    assert session.query(Build).count() == 0
    assert session.query(BuildChroot).count() == 0


def test_filtered_columns_are_indexed(factory: Factory) -> None:
    inspector = inspect(factory.session.get_bind())

    def indexed(table: str) -> set[str]:
        columns = {c for index in inspector.get_indexes(table) for c in index["column_names"]}
        for unique in inspector.get_unique_constraints(table):
            columns.add(unique["column_names"][0])
        return columns

    assert {"state", "source_status", "is_background", "canceled", "project_id",
            "submitted_on", "batch_id"} <= indexed("builds")  # fmt: skip
    assert {"status", "mock_chroot_id", "build_id"} <= indexed("build_chroots")
    assert {"ownername", "name"} <= indexed("projects")
    assert {"result", "priority"} <= indexed("actions")
    assert {"is_active", "name"} <= indexed("mock_chroots")


def test_state_precedence(factory: Factory) -> None:
    project = factory.project(chroots=["fedora-42-x86_64", "epel-9-x86_64"])
    build = factory.build(project, source_status=StatusEnum.succeeded)
    first, second = build.chroots
    cases = [
        ((StatusEnum.succeeded, StatusEnum.skipped), StatusEnum.succeeded),
        ((StatusEnum.succeeded, StatusEnum.failed), StatusEnum.failed),
        ((StatusEnum.failed, StatusEnum.running), StatusEnum.running),
        ((StatusEnum.pending, StatusEnum.succeeded), StatusEnum.pending),
        ((StatusEnum.skipped, StatusEnum.skipped), StatusEnum.skipped),
        ((StatusEnum.canceled, StatusEnum.succeeded), StatusEnum.canceled),
    ]
    for (a, b), expected in cases:
        first.status, second.status = a, b
        assert compute_state(build) == expected, (a, b)
    build.canceled = True
    assert compute_state(build) == StatusEnum.canceled
    factory.session.rollback()
