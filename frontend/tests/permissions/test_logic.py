"""Permission rules: owner, group members, granted builders/admins, site admins."""

from __future__ import annotations

import pytest

from copr_common.enums import PermissionEnum
from copr_frontend.permissions.logic import (
    PermissionChangeError,
    can_admin,
    can_build,
    is_owner,
    list_permissions,
    request_permission,
    set_permission,
)
from copr_frontend.testing import Factory


@pytest.fixture
def world(factory: Factory):  # type: ignore[no-untyped-def]
    owner = factory.user("owner")
    member = factory.user("member")
    builder = factory.user("builder")
    admin = factory.user("padmin")
    requester = factory.user("requester")
    other = factory.user("other")
    site_admin = factory.user("root", admin=True)
    group = factory.group("team", members=[member])
    personal = factory.project(owner, "personal")
    shared = factory.project(owner, "shared", group=group)
    for project in (personal, shared):
        factory.grant(project, builder, builder=PermissionEnum.approved)
        factory.grant(project, admin, admin=PermissionEnum.approved)
        factory.grant(project, requester, builder=PermissionEnum.request,
                      admin=PermissionEnum.request)  # fmt: skip
    return {
        "owner": owner, "member": member, "builder": builder, "admin": admin,
        "requester": requester, "other": other, "site_admin": site_admin, "anonymous": None,
        "personal": personal, "shared": shared,
    }  # fmt: skip


# who -> (can build, can admin) in the personal project and in the group project
MATRIX = {
    "anonymous": ((False, False), (False, False)),
    "other": ((False, False), (False, False)),
    "requester": ((False, False), (False, False)),
    "builder": ((True, False), (True, False)),
    "admin": ((True, True), (True, True)),
    "member": ((False, False), (True, True)),
    "owner": ((True, True), (False, False)),
    "site_admin": ((True, True), (True, True)),
}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_permission_matrix(factory: Factory, world, who: str) -> None:  # type: ignore[no-untyped-def]
    user = world[who]
    for project, expected in zip((world["personal"], world["shared"]), MATRIX[who], strict=True):
        got = (can_build(factory.session, user, project), can_admin(factory.session, user, project))
        assert got == expected, (who, project.full_name)


def test_group_project_is_owned_by_members_only(factory: Factory, world) -> None:  # type: ignore[no-untyped-def]
    # The creator is not a member: a group project belongs to the group.
    assert not is_owner(factory.session, world["owner"], world["shared"])
    assert is_owner(factory.session, world["member"], world["shared"])


def test_request_and_approve_flow(factory: Factory, world) -> None:  # type: ignore[no-untyped-def]
    session = factory.session
    project, other = world["personal"], world["other"]
    assert request_permission(session, other, project, "builder")
    assert not request_permission(session, other, project, "builder")  # already asked
    assert not can_build(session, other, project)
    listed = {p.user.name: p.copr_builder for p in list_permissions(session, project)}
    assert listed["other"] == PermissionEnum.request

    with pytest.raises(PermissionChangeError, match="only its owner and admins"):
        set_permission(session, world["builder"], other, project, "builder", "approved")
    assert set_permission(session, world["admin"], other, project, "builder", "approved")
    assert can_build(session, other, project)
    assert not can_admin(session, other, project)

    # Giving a right up, and revoking it, both end at nothing.
    assert request_permission(session, other, project, "builder", want=False)
    assert not can_build(session, other, project)
    assert set_permission(session, world["owner"], world["builder"], project, "builder", "nothing")
    assert not can_build(session, world["builder"], project)
    session.rollback()


def test_bad_permission_changes(factory: Factory, world) -> None:  # type: ignore[no-untyped-def]
    session = factory.session
    project = world["personal"]
    with pytest.raises(PermissionChangeError, match="unknown permission"):
        request_permission(session, world["other"], project, "superuser")
    with pytest.raises(PermissionChangeError, match="not a valid PermissionEnum"):
        set_permission(session, world["owner"], world["other"], project, "admin", "maybe")
    with pytest.raises(PermissionChangeError, match="owns"):
        request_permission(session, world["owner"], project, "admin")
    with pytest.raises(PermissionChangeError, match="owns"):
        set_permission(session, world["site_admin"], world["owner"], project, "admin", "nothing")
    session.rollback()
