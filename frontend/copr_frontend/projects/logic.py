"""Project lookups and the core of creating a project.  Never commits.

The API v3 project routes build on these (input validation, permissions and the
serialized form live with the routes).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.names import InvalidNameError, ProjectDirName, validate_project_name
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.users.models import Group, User


class ProjectError(ValueError):
    """A project operation that cannot be done; the message says why."""


def get_project(session: Session, ownername: str, name: str) -> Project | None:
    return session.scalar(
        select(Project).where(Project.ownername == ownername, Project.name == name)
    )


def get_project_dir(session: Session, project: Project, dirname: str) -> ProjectDir | None:
    return session.scalar(
        select(ProjectDir).where(ProjectDir.project_id == project.id, ProjectDir.name == dirname)
    )


def get_or_create_dir(session: Session, project: Project, dirname: str) -> ProjectDir:
    """The project's dir ``dirname`` (``project``, ``project:pr:N``, ``project:custom:S``)."""
    try:
        parsed = ProjectDirName.parse(dirname)
    except InvalidNameError as error:
        raise ProjectError(str(error)) from None
    if parsed.project != project.name:
        raise ProjectError(f"dir {dirname!r} does not belong to project {project.full_name}")
    found = get_project_dir(session, project, str(parsed))
    if found is not None:
        return found
    project_dir = ProjectDir(project=project, name=str(parsed), main=parsed.is_main)
    session.add(project_dir)
    session.flush()
    return project_dir


def add_project(
    session: Session,
    user: User,
    name: str,
    *,
    group: Group | None = None,
    chroots: Iterable[MockChroot] = (),
    **fields: object,
) -> Project:
    """A new project owned by ``user`` (or by ``group``), with its main dir and chroots.

    ``fields`` are Project columns (description, enable_net, ...).
    """
    try:
        validate_project_name(name)
    except InvalidNameError as error:
        raise ProjectError(str(error)) from None
    ownername = group.at_name if group is not None else user.name
    if get_project(session, ownername, name) is not None:
        raise ProjectError(f"project {ownername}/{name} already exists")
    unknown = set(fields) - set(Project.__table__.columns.keys())
    if unknown:
        raise ProjectError(f"unknown project fields: {', '.join(sorted(unknown))}")
    project = Project(
        name=name,
        ownername=ownername,
        user=user,
        group=group,
        webhook_secret=secrets.token_hex(16),
        **fields,
    )
    session.add(project)
    session.add(ProjectDir(project=project, name=name, main=True))
    for mock_chroot in chroots:
        session.add(ProjectChroot(project=project, mock_chroot=mock_chroot))
    session.flush()
    return project


def project_chroot(project: Project, name: str) -> ProjectChroot | None:
    """The project's enabled (not deleted) chroot called ``name``."""
    return next((c for c in project.chroots if c.name == name and not c.deleted), None)
