"""Every API v3 write against every kind of caller: anonymous (401), a stranger (403),
a builder (builder-level writes only), a project admin, a group member (on the group's
project) and the owner.  A refused request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import World, snapshot

ROLES = ("anonymous", "other", "builder", "padmin", "member", "owner", "root")


@dataclass
class Write:
    method: str
    url: Callable[[World, str, str, str], str]
    level: str  # "builder" or "admin"
    body: Callable[[World, str, str], dict[str, Any]] | None = None


def _p(path: str) -> Callable[[World, str, str, str], str]:
    return lambda w, owner, name, role: "/api_3" + path.format(
        owner=owner, name=name, build=_build(w, owner).id, role=role
    )


def _build(w: World, owner: str) -> Any:
    return w.group_build if owner.startswith("@") else w.build


def _body(**extra: Any) -> Callable[[World, str, str], dict[str, Any]]:
    return lambda w, owner, name: {"ownername": owner, "projectname": name, **extra}


WRITES = {
    "project-edit": Write(
        "PUT", _p("/project/edit/{owner}/{name}"), "admin", lambda w, o, n: {"description": "new"}
    ),
    "project-delete": Write("DELETE", _p("/project/delete/{owner}/{name}"), "admin"),
    "regenerate-repos": Write("PUT", _p("/project/regenerate-repos/{owner}/{name}"), "admin"),
    "permissions-get": Write("GET", _p("/project/permissions/get/{owner}/{name}"), "admin"),
    "permissions-set": Write(
        "PUT",
        _p("/project/permissions/set/{owner}/{name}"),
        "admin",
        lambda w, o, n: {"other": {"builder": "approved"}},
    ),
    "webhook-generate": Write("POST", _p("/webhook/generate/{owner}/{name}"), "admin"),
    "chroot-edit": Write(
        "PUT",
        _p("/project-chroot/edit/{owner}/{name}/fedora-42-x86_64"),
        "admin",
        lambda w, o, n: {"additional_packages": ["make"]},
    ),
    "package-delete": Write("DELETE", _p("/package/delete"), "admin", _body(package_name="pkg")),
    "build-delete": Write("DELETE", _p("/build/delete/{build}"), "admin"),
    "build-cancel": Write("PUT", _p("/build/cancel/{build}"), "builder"),
    "build-cancel-list": Write(
        "PUT", _p("/build/cancel/list"), "builder", lambda w, o, n: {"builds": [_build(w, o).id]}
    ),
    "cancel-pending": Write("PUT", _p("/project/cancel-pending/{owner}/{name}"), "builder"),
    "check-before-build": Write("POST", _p("/build/check-before-build"), "builder", _body()),
    "create-url": Write(
        "POST",
        _p("/build/create/url"),
        "builder",
        _body(pkgs=["https://example.org/a-1-1.src.rpm"]),
    ),
    "create-scm": Write(
        "POST", _p("/build/create/scm"), "builder", _body(clone_url="https://example.org/a.git")
    ),
    "create-pypi": Write(
        "POST", _p("/build/create/pypi"), "builder", _body(pypi_package_name="requests")
    ),
    "create-rubygems": Write(
        "POST", _p("/build/create/rubygems"), "builder", _body(gem_name="rake")
    ),
    "create-custom": Write("POST", _p("/build/create/custom"), "builder", _body(script="echo hi")),
    "create-distgit": Write(
        "POST", _p("/build/create/distgit"), "builder", _body(package_name="tar")
    ),
    "package-add": Write(
        "POST",
        _p("/package/add/{owner}/{name}/new-{role}/pypi"),
        "builder",
        lambda w, o, n: {"pypi_package_name": "requests"},
    ),
    "package-edit": Write(
        "PUT",
        _p("/package/edit/{owner}/{name}/pkg/scm"),
        "builder",
        lambda w, o, n: {"clone_url": "https://example.org/b.git"},
    ),
    "package-reset": Write("PUT", _p("/package/reset"), "builder", _body(package_name="pkg")),
    "package-build": Write("POST", _p("/package/build"), "builder", _body(package_name="pkg")),
}


def expected_status(role: str, level: str, name: str) -> int:
    if role == "anonymous":
        return 401
    if role == "other":
        return 403
    if role == "builder" and level == "admin":
        return 403
    if name == "build-delete" and role != "root":
        # The build is pending: whoever may delete it hears that it is still running.
        return 409 if role in ("padmin", "member", "owner") else 403
    return 200


# Writes that can be repeated run all roles against one world; the others (a second
# delete or cancel would fail for another reason) get a fresh world per role.
ONCE_ONLY = {
    "project-delete", "package-delete", "build-delete", "build-cancel", "build-cancel-list",
}  # fmt: skip
CASES = [(name, None) for name in sorted(WRITES) if name not in ONCE_ONLY] + [
    (name, role) for name in sorted(ONCE_ONLY) for role in ROLES
]


@pytest.mark.parametrize(("name", "only_role"), CASES)
def test_write_permissions(
    client: FlaskClient, world: World, name: str, only_role: str | None
) -> None:
    write = WRITES[name]
    for role in ROLES if only_role is None else (only_role,):
        owner, project = ("@team", "gproj") if role == "member" else ("owner", "proj")
        url = write.url(world, owner, project, role)
        body = write.body(world, owner, project) if write.body else None
        before = snapshot(world.factory.session)
        response = client.open(url, method=write.method, json=body, headers=world.auth(role))
        expected = expected_status(role, write.level, name)
        if name == "build-delete" and role == "root":
            expected = 409
        assert response.status_code == expected, (role, response.get_json())
        assert response.is_json
        if expected != 200:
            assert "error" in response.get_json()
            after = snapshot(world.factory.session)
            # Tokens are issued by the test itself; compare everything but the users table.
            assert {k: v for k, v in after.items() if k != "users"} == {
                k: v for k, v in before.items() if k != "users"
            }, role


@pytest.mark.parametrize("role", ["other", "builder", "padmin", "member", "owner"])
def test_fork_and_request_need_only_a_login(client: FlaskClient, world: World, role: str) -> None:
    headers = world.auth(role)
    forked = client.post(
        "/api_3/project/fork/owner/proj", json={"name": f"fork-{role}"}, headers=headers
    )
    assert forked.status_code == 200, forked.get_json()
    assert forked.get_json()["full_name"] == f"{role}/fork-{role}"
    asked = client.put(
        "/api_3/project/permissions/request/owner/proj", json={"admin": True}, headers=headers
    )
    if role == "owner":
        assert asked.status_code == 400
    else:
        assert asked.status_code == 200, asked.get_json()


def test_anonymous_fork_and_request(client: FlaskClient, world: World) -> None:
    before = snapshot(world.factory.session)
    assert client.post("/api_3/project/fork/owner/proj", json={"name": "x"}).status_code == 401
    assert (
        client.put(
            "/api_3/project/permissions/request/owner/proj", json={"admin": True}
        ).status_code
        == 401
    )
    assert snapshot(world.factory.session) == before
