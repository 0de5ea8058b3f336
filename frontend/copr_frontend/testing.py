"""Test data factories for the frontend's tests (and other services' tests of it).

Every factory method commits, so an app using another session sees the rows.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.builds.logic import add_build
from copr_frontend.builds.models import Build
from copr_frontend.builds.states import set_chroot_status, set_source_status
from copr_frontend.mockchroots.logic import create_chroot, get_chroot
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.permissions.models import ProjectPermission
from copr_frontend.projects.logic import add_project, get_or_create_dir
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.users.logic import add_member, create_group, create_user, issue_api_token
from copr_frontend.users.models import Group, User

_counter = itertools.count(1)


def basic_auth(login: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


class Factory:
    """Makes users, projects, packages and builds for tests, committing each one."""

    def __init__(self, session: Session, settings: FrontendSettings | None = None) -> None:
        self.session = session
        self.settings = settings

    def _commit(self) -> None:
        self.session.commit()

    def user(
        self, name: str | None = None, *, admin: bool = False, password: str | None = None
    ) -> User:
        user = create_user(
            self.session, name or f"user{next(_counter)}", admin=admin, password=password
        )
        self._commit()
        return user

    def token(self, user: User, lifetime_days: int = 30) -> tuple[str, str]:
        token = issue_api_token(user, lifetime_days)
        self._commit()
        assert user.api_login is not None
        return user.api_login, token

    def auth(self, user: User) -> dict[str, str]:
        return basic_auth(*self.token(user))

    def group(self, name: str | None = None, members: Iterable[User] = ()) -> Group:
        group = create_group(self.session, name or f"group{next(_counter)}")
        for member in members:
            add_member(self.session, group, member)
        self._commit()
        return group

    def mock_chroot(self, name: str, *, active: bool = True) -> MockChroot:
        chroot = get_chroot(self.session, name)
        if chroot is None:
            chroot = create_chroot(self.session, name, active=active)
            self._commit()
        return chroot

    def project(
        self,
        owner: User | None = None,
        name: str | None = None,
        *,
        group: Group | None = None,
        chroots: Sequence[str] = ("fedora-42-x86_64",),
        **fields: Any,
    ) -> Project:
        owner = owner or self.user()
        mock_chroots = [self.mock_chroot(c) for c in chroots]
        project = add_project(
            self.session,
            owner,
            name or f"project{next(_counter)}",
            group=group,
            chroots=mock_chroots,
            **fields,
        )
        self._commit()
        return project

    def grant(
        self, project: Project, user: User, *, builder: int = 0, admin: int = 0
    ) -> ProjectPermission:
        perm = ProjectPermission(
            project_id=project.id, user_id=user.id, copr_builder=builder, copr_admin=admin
        )
        self.session.add(perm)
        self._commit()
        return perm

    def package(
        self,
        project: Project,
        name: str | None = None,
        *,
        source_type: BuildSourceEnum = BuildSourceEnum.scm,
        source_json: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Package:
        package = Package(
            project=project,
            name=name or f"pkg{next(_counter)}",
            source_type=source_type,
            source_json=source_json or {"clone_url": "https://example.org/repo.git", "type": "git"},
            **fields,
        )
        self.session.add(package)
        self._commit()
        return package

    def build(
        self,
        project: Project,
        *,
        user: User | None = None,
        chroots: Sequence[str] | None = None,
        package: Package | None = None,
        dirname: str | None = None,
        source_type: BuildSourceEnum = BuildSourceEnum.link,
        source_json: dict[str, Any] | None = None,
        source_status: StatusEnum | None = None,
        chroot_status: StatusEnum | None = None,
        after_build: Build | None = None,
        with_build: Build | None = None,
        **options: Any,
    ) -> Build:
        """A submitted build; ``source_status``/``chroot_status`` fast-forward it."""
        if chroots is None:
            mock_chroots = [c.mock_chroot for c in project.active_chroots]
        else:
            mock_chroots = [self.mock_chroot(c) for c in chroots]
        project_dir = get_or_create_dir(self.session, project, dirname) if dirname else None
        build = add_build(
            self.session,
            project,
            user or project.user,
            mock_chroots,
            source_type=source_type,
            source_json=source_json or {"url": "https://example.org/hello-1-1.src.rpm"},
            project_dir=project_dir,
            package=package,
            after_build=after_build,
            with_build=with_build,
            **options,
        )
        if source_status is not None:
            set_source_status(build, source_status)
        if chroot_status is not None:
            for chroot in build.chroots:
                set_chroot_status(chroot, chroot_status)
        self._commit()
        return build
