"""Project lookups and the core of creating a project.  Never commits.

The API v3 project routes build on these (input validation, permissions and the
serialized form live with the routes).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from copr_common.chroots import ChrootNameError, match_chroots
from copr_common.enums import ActionTypeEnum
from copr_common.names import InvalidNameError, ProjectDirName, validate_project_name
from copr_frontend.actions.logic import queue_action
from copr_frontend.builds.forking import fork_builds
from copr_frontend.db import now
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.logic import copy_package
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.quotas import logic as quotas
from copr_frontend.settings import FrontendSettings
from copr_frontend.users.logic import get_group, get_user
from copr_frontend.users.models import Group, User


def new_webhook_secret() -> str:
    """A fresh webhook secret: a random UUID, as Copr's (forges show it in their URLs)."""
    return str(uuid.uuid4())


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
        webhook_secret=new_webhook_secret(),
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


# --- API v3: editing, deleting, forking (added for the API resource routes) ---------------

DELETED_CHROOT_KEEP_DAYS = 7
"""How long the results of a chroot removed from a project are kept."""


def resolve_chroots(
    available: Iterable[MockChroot], patterns: Iterable[str], *, what: str = "chroot"
) -> list[MockChroot]:
    """The chroots of ``available`` that the names or shell patterns select, by name.

    A plain name that is not available is an error; a pattern may match nothing.
    """
    by_name = {c.name: c for c in available}
    patterns = list(patterns)
    for pattern in patterns:
        if pattern not in by_name and not any(c in pattern for c in "*?["):
            # Copr's words, which its clients and users know.
            raise ProjectError(f"'{pattern}' is not a valid choice for this field.")
    try:
        names = match_chroots(list(patterns), sorted(by_name))
    except ChrootNameError as error:
        raise ProjectError(f"{what}: {error}") from None
    return [by_name[n] for n in names]


def set_project_chroots(session: Session, project: Project, wanted: Iterable[MockChroot]) -> None:
    """Enable exactly ``wanted``: new ones are added, old ones re-enabled or disabled.

    A disabled chroot keeps its configuration and, for a while, its results.
    """
    wanted_ids = {c.id for c in wanted}
    existing = {c.mock_chroot_id: c for c in project.chroots}
    for mock_chroot in wanted:
        copr_chroot = existing.get(mock_chroot.id)
        if copr_chroot is None:
            session.add(ProjectChroot(project=project, mock_chroot=mock_chroot))
        elif copr_chroot.deleted:
            copr_chroot.deleted = False
            copr_chroot.delete_after = None
    for mock_chroot_id, copr_chroot in existing.items():
        if mock_chroot_id not in wanted_ids and not copr_chroot.deleted:
            copr_chroot.deleted = True
            copr_chroot.delete_after = now() + DELETED_CHROOT_KEEP_DAYS * 24 * 3600
    session.flush()
    session.expire(project, ["chroots"])


def project_action_data(project: Project) -> dict[str, object]:
    return {
        "ownername": project.ownername,
        "projectname": project.name,
        "project_dirnames": [d.name for d in project.dirs],
    }


def queue_new_project_actions(session: Session, project: Project) -> None:
    """A new project needs its signing key and (empty) repositories."""
    queue_action(
        session,
        ActionTypeEnum.gen_gpg_key,
        "copr",
        project.id,
        {"ownername": project.ownername, "projectname": project.name},
        project=project,
    )
    queue_createrepo(session, project, [c.name for c in project.active_chroots])


def queue_createrepo(
    session: Session, project: Project, chroots: Iterable[str], *, devel: bool | None = None
) -> None:
    """Have the backend make the repodata of ``chroots``: of the public repos (``devel``
    False), of the ``devel/`` repos a project without automatic publishing builds into
    (True), or of whichever the project has (None: public ones, and devel ones in
    ``devel_mode``).
    """
    wanted = [devel] if devel is not None else [False] + ([True] if project.devel_mode else [])
    for which in wanted:
        data = project_action_data(project)
        data.update({"chroots": sorted(chroots), "devel": which, "appstream": project.appstream})
        queue_action(
            session, ActionTypeEnum.createrepo, "repository", project.id, data, project=project
        )


def delete_project(session: Session, project: Project) -> None:
    """Delete the project's rows and queue the deletion of its results."""
    queue_action(
        session,
        ActionTypeEnum.delete,
        "copr",
        project.id,
        project_action_data(project),
        old_value=project.full_name,
        project=project,
    )
    session.delete(project)
    session.flush()


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_projects(text: str) -> Select[Any]:
    """Listed projects whose owner, name or description holds every word of ``text``.

    A word ``owner/name`` (``@group/name``, as ``dnf copr search`` passes a project's
    full name) matches the owner and the project name, as in Copr: a user part only
    projects of users, an ``@group`` part only projects of groups.
    """
    words = text.split()
    if not words:
        raise ProjectError("the search query is empty")
    query = select(Project).where(Project.unlisted_on_hp.is_(False))
    for word in words[:10]:
        owner, slash, name = word.partition("/")
        if slash:
            if owner.startswith("@"):
                query = query.where(Project.ownername.startswith("@"))
                owner = owner[1:]
            elif owner:
                query = query.where(~Project.ownername.startswith("@"))
            if owner:
                query = query.where(Project.ownername.ilike(_like(owner), escape="\\"))
            if name:
                query = query.where(Project.name.ilike(_like(name), escape="\\"))
            continue
        pattern = _like(word)
        query = query.where(
            or_(
                Project.name.ilike(pattern, escape="\\"),
                Project.ownername.ilike(pattern, escape="\\"),
                Project.description.ilike(pattern, escape="\\"),
            )
        )
    return query


_FORKED_SETTINGS = (
    "description",
    "instructions",
    "homepage",
    "contact",
    "additional_repos",
    "enable_net",
    "auto_prune",
    "unlisted_on_hp",
    "devel_mode",
    "bootstrap",
    "isolation",
    "module_hotfixes",
    "runtime_dependencies",
    "appstream",
    "repo_priority",
    "follow_fedora_branching",
    "fedora_review",
    "require_real_buildroot",
    "rpmlint_fail_on_errors",
    "email_notifications",
)


def fork_project(
    session: Session,
    source: Project,
    user: User,
    name: str,
    *,
    settings: FrontendSettings,
    group: Group | None = None,
    into: Project | None = None,
) -> Project:
    """Fork ``source`` as ``name`` (or update the existing fork ``into``) and queue the copy.

    The fork gets the source's settings, chroots and packages; each package's latest
    succeeded build is copied as a ``forked`` build, and a fork action tells the backend
    which result directories to copy (``builds_map``) so nothing is rebuilt.  A fork whose
    copies would take the target owner past their storage quota is refused
    (:class:`~copr_frontend.quotas.logic.QuotaExceeded`; the caller rolls back).
    """
    if into is None:
        copied = {field: getattr(source, field) for field in _FORKED_SETTINGS}
        target = add_project(
            session,
            user,
            name,
            group=group,
            chroots=[c.mock_chroot for c in source.active_chroots],
            forked_from_id=source.id,
            **copied,
        )
        for src_chroot, dst_chroot in zip(source.active_chroots, target.chroots, strict=True):
            for field in (
                "buildroot_pkgs",
                "repos",
                "comps_name",
                "comps",
                "with_opts",
                "without_opts",
                "module_toggle",
                "isolation",
                "bootstrap",
                "bootstrap_image",
            ):
                setattr(dst_chroot, field, getattr(src_chroot, field))
        queue_action(
            session,
            ActionTypeEnum.gen_gpg_key,
            "copr",
            target.id,
            {"ownername": target.ownername, "projectname": target.name},
            project=target,
        )
    else:
        target = into
    packages = {p.name: p for p in target.packages}
    for package in source.packages:
        packages[package.name] = copy_package(session, package, target, packages.get(package.name))
    session.flush()
    before = quotas.owner_quota(session, settings, target.ownername)
    builds_map = fork_builds(session, source, target, packages, user)
    quotas.check_fork(before, quotas.owner_usage(session, target.ownername) - before.usage)
    queue_action(
        session,
        ActionTypeEnum.fork,
        "copr",
        target.id,
        {
            "user": target.ownername,
            "copr": target.name,
            "ownername": target.ownername,
            "projectname": target.name,
            "builds_map": builds_map,
        },
        old_value=source.full_name,
        new_value=target.full_name,
        project=target,
    )
    return target


# --- pages of the web UI: fixed numbers of queries -----------------------------------------

PAGE_SIZE = 50


def list_projects(
    session: Session,
    *,
    ownername: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
    listed_only: bool = True,
    query: Select[Any] | None = None,
) -> tuple[list[Project], int | None]:
    """A page of projects, newest first, with their chroots; and the id to continue below."""
    select_projects = query if query is not None else select(Project)
    if ownername is not None:
        select_projects = select_projects.where(Project.ownername == ownername)
    elif listed_only:
        select_projects = select_projects.where(Project.unlisted_on_hp.is_(False))
    if before_id is not None:
        select_projects = select_projects.where(Project.id < before_id)
    rows = list(
        session.scalars(
            select_projects.order_by(Project.id.desc())
            .limit(limit + 1)
            .options(selectinload(Project.chroots))
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def list_forks(session: Session, project: Project) -> list[Project]:
    return list(
        session.scalars(
            select(Project)
            .where(Project.forked_from_id == project.id)
            .order_by(Project.ownername, Project.name)
            .options(selectinload(Project.chroots))
        )
    )


def owner_exists(session: Session, ownername: str) -> bool:
    """Whether a user or group of this owner name (``@group``) exists."""
    if ownername.startswith("@"):
        return get_group(session, ownername[1:]) is not None
    return get_user(session, ownername) is not None
