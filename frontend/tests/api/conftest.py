"""Fixtures of the API v3 resource tests: a populated world and a DB snapshot.

``world`` holds a user project ``owner/proj`` (builder ``builder`` and admin ``padmin``
granted), a group project ``@team/gproj`` (member ``member``), an unrelated user
``other``, a site admin ``root``, a package ``pkg`` and a pending build in each project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import PermissionEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.packages.models import Package
from copr_frontend.permissions.models import ProjectPermission
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

CHROOTS = ("fedora-42-x86_64", "fedora-42-aarch64", "epel-9-x86_64")


@dataclass
class World:
    factory: Factory
    users: dict[str, User]
    project: Project
    group_project: Project
    package: Package
    build: Build
    group_build: Build

    def auth(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        return self.factory.auth(self.users[role])


@pytest.fixture
def world(factory: Factory) -> World:
    users = {name: factory.user(name) for name in ("owner", "builder", "padmin", "member", "other")}
    users["root"] = factory.user("root", admin=True)
    team = factory.group("team", members=[users["member"]])
    project = factory.project(users["owner"], "proj", chroots=CHROOTS, description="old")
    group_project = factory.project(users["member"], "gproj", group=team, chroots=CHROOTS)
    for target in (project, group_project):
        factory.grant(target, users["builder"], builder=PermissionEnum.approved)
        factory.grant(target, users["padmin"], admin=PermissionEnum.approved)
    package = factory.package(project, "pkg")
    factory.package(group_project, "pkg")
    build = factory.build(project, user=users["owner"])
    group_build = factory.build(group_project, user=users["member"])
    return World(factory, users, project, group_project, package, build, group_build)


def _rows(session: Session, model: Any) -> list[tuple[Any, ...]]:
    table = model.__table__
    return sorted(tuple(row) for row in session.execute(select(table)))


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables API writes touch, to compare before and after."""
    session.expire_all()
    models = (
        Project,
        ProjectDir,
        ProjectChroot,
        Package,
        Build,
        BuildChroot,
        Action,
        ProjectPermission,
        User,
    )
    return {m.__tablename__: _rows(session, m) for m in models}
