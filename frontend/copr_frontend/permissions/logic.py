"""Who may do what in a project.  Pure functions over loaded models; they never commit.

* Owner: the user who owns the project, or any member of the group owning it.
* Admin (may edit the project, its chroots, packages and permissions): owner, users
  with ``copr_admin`` approved, site admins.
* Builder (may submit and cancel builds, add packages): admins, plus users with
  ``copr_builder`` approved.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import PermissionEnum
from copr_frontend.permissions.models import ProjectPermission
from copr_frontend.projects.models import Project
from copr_frontend.users.models import GroupMembership, User

ROLES = ("builder", "admin")


class PermissionChangeError(ValueError):
    """A permission change that is not allowed; the message says why."""


def is_owner(session: Session, user: User | None, project: Project) -> bool:
    if user is None:
        return False
    if project.group_id is not None:
        return session.get(GroupMembership, (user.id, project.group_id)) is not None
    return project.user_id == user.id


def get_permission(
    session: Session, user: User | None, project: Project
) -> ProjectPermission | None:
    if user is None:
        return None
    return session.get(ProjectPermission, (project.id, user.id))


def can_admin(session: Session, user: User | None, project: Project) -> bool:
    """May edit or delete the project and grant rights in it."""
    if user is None:
        return False
    if user.admin or is_owner(session, user, project):
        return True
    perm = get_permission(session, user, project)
    return perm is not None and perm.copr_admin == PermissionEnum.approved


def can_build(session: Session, user: User | None, project: Project) -> bool:
    """May submit, cancel and resubmit builds and manage packages."""
    if user is None:
        return False
    if can_admin(session, user, project):
        return True
    perm = get_permission(session, user, project)
    return perm is not None and perm.copr_builder == PermissionEnum.approved


def list_permissions(session: Session, project: Project) -> list[ProjectPermission]:
    """Every user holding or asking for a right, by user name."""
    query = (
        select(ProjectPermission)
        .join(User, User.id == ProjectPermission.user_id)
        .where(ProjectPermission.project_id == project.id)
        .order_by(User.name)
    )
    return [
        p
        for p in session.scalars(query)
        if p.copr_builder != PermissionEnum.nothing or p.copr_admin != PermissionEnum.nothing
    ]


def _parse_role(role: str) -> str:
    role = role.removeprefix("copr_")
    if role not in ROLES:
        raise PermissionChangeError(f"unknown permission {role!r}: choose from builder, admin")
    return f"copr_{role}"


def _get_or_create(session: Session, user: User, project: Project) -> ProjectPermission:
    perm = get_permission(session, user, project)
    if perm is None:
        perm = ProjectPermission(
            project_id=project.id,
            user_id=user.id,
            copr_builder=PermissionEnum.nothing,
            copr_admin=PermissionEnum.nothing,
        )
        session.add(perm)
    return perm


def request_permission(
    session: Session, user: User, project: Project, role: str, want: bool = True
) -> bool:
    """``user`` asks for (or gives up) ``role``; returns whether anything changed.

    Asking for a right one already has changes nothing; giving one up drops it.
    """
    column = _parse_role(role)
    if is_owner(session, user, project):
        raise PermissionChangeError(f"{user.name} owns {project.full_name} and has every right")
    perm = _get_or_create(session, user, project)
    current: PermissionEnum = getattr(perm, column)
    new = (
        (PermissionEnum.request if current == PermissionEnum.nothing else current)
        if want
        else PermissionEnum.nothing
    )
    if new == current:
        return False
    setattr(perm, column, new)
    return True


def set_permission(
    session: Session,
    actor: User,
    user: User,
    project: Project,
    role: str,
    value: PermissionEnum | str,
) -> bool:
    """An admin of the project sets ``user``'s ``role`` (approve, deny, or revoke it)."""
    column = _parse_role(role)
    if not can_admin(session, actor, project):
        raise PermissionChangeError(
            f"{actor.name} may not change permissions in {project.full_name}: "
            "only its owner and admins can"
        )
    if isinstance(value, str):
        try:
            value = PermissionEnum.from_label(value)
        except ValueError as error:
            raise PermissionChangeError(str(error)) from None
    if is_owner(session, user, project):
        raise PermissionChangeError(f"{user.name} owns {project.full_name}; their rights are fixed")
    perm = _get_or_create(session, user, project)
    if getattr(perm, column) == value:
        return False
    setattr(perm, column, value)
    return True
