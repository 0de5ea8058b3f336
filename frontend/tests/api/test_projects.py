"""API v3 project routes: success and every error path; nothing stored on bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from copr_common.enums import ActionTypeEnum, StatusEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build

from .conftest import World, snapshot


def test_get_and_list(client: FlaskClient, world: World) -> None:
    data = client.get("/api_3/project?ownername=owner&projectname=proj").get_json()
    assert data["full_name"] == "owner/proj"
    assert data["description"] == "old"
    assert data["chroot_repos"]["epel-9-x86_64"] == (
        "http://results.test/results/owner/proj/epel-9-x86_64/"
    )
    assert set(data) >= {
        "id",
        "name",
        "ownername",
        "instructions",
        "homepage",
        "contact",
        "additional_repos",
        "enable_net",
        "auto_prune",
    }
    # Trailing slash and path-less spellings work too.
    assert client.get("/api_3/project/?ownername=owner&projectname=proj").status_code == 200
    listed = client.get("/api_3/project/list?ownername=@team").get_json()
    assert [p["full_name"] for p in listed["items"]] == ["@team/gproj"]
    everything = client.get("/api_3/project/list?order=name&order_type=DESC").get_json()
    assert [p["name"] for p in everything["items"]] == ["proj", "gproj"]
    assert client.get("/api_3/project/list?offset=5").get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("ownername=owner&projectname=nope", 404, "Project owner/nope does not exist."),
        ("ownername=owner", 400, "projectname"),
        ("", 400, "ownername"),
    ],
)
def test_get_errors(client: FlaskClient, world: World, query: str, code: int, message: str) -> None:
    response = client.get(f"/api_3/project?{query}")
    assert response.status_code == code
    assert message in response.get_json()["error"]


def test_search(client: FlaskClient, world: World) -> None:
    world.factory.project(world.users["other"], "hidden-thing", unlisted_on_hp=True)
    world.factory.project(world.users["other"], "visible-thing", description="A Thing")
    found = client.get("/api_3/project/search?query=thing").get_json()
    assert [p["full_name"] for p in found["items"]] == ["other/visible-thing"]
    assert client.get("/api_3/project/search?query=nothing-like-it").get_json()["items"] == []
    assert client.get("/api_3/project/search?query=100%25_").get_json()["items"] == []
    assert client.get("/api_3/project/search").status_code == 400


def _add(
    client: FlaskClient,
    world: World,
    owner: str,
    body: dict[str, Any],
    role: str = "owner",
    query: str = "",
) -> Any:
    return client.post(f"/api_3/project/add/{owner}{query}", json=body, headers=world.auth(role))


def test_add(client: FlaskClient, world: World) -> None:
    response = _add(
        client,
        world,
        "owner",
        {
            "name": "new",
            "chroots": ["fedora-42-*"],
            "description": "d",
            "additional_repos": ["copr://owner/proj", "https://example.org/repo/"],
            "enable_net": True,
            "delete_after_days": 3,
            "bootstrap": "on",
            "isolation": "simple",
            "repo_priority": 5,
            "runtime_dependencies": ["https://example.org/dep/"],
            "keep_builds": 5,
        },
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["keep_builds"] == 5
    assert data["full_name"] == "owner/new"
    assert sorted(data["chroot_repos"]) == ["fedora-42-aarch64", "fedora-42-x86_64"]
    assert data["enable_net"] is True
    assert data["delete_after_days"] == 3
    assert data["bootstrap"] == "on"
    session = world.factory.session
    kinds = [a.action_type for a in session.scalars(select(Action).order_by(Action.id))]
    assert kinds == [ActionTypeEnum.gen_gpg_key, ActionTypeEnum.createrepo]
    group = _add(client, world, "@team", {"name": "team-new"}, role="member")
    assert group.get_json()["ownername"] == "@team"


def test_add_exist_ok_and_duplicate(client: FlaskClient, world: World) -> None:
    again = _add(client, world, "owner", {"name": "proj"}, query="?exist_ok=True")
    assert again.status_code == 200
    assert again.get_json()["id"] == world.project.id
    before = snapshot(world.factory.session)
    duplicate = _add(client, world, "owner", {"name": "proj"}, query="?exist_ok=False")
    assert duplicate.status_code == 409
    assert "already have a project named owner/proj" in duplicate.get_json()["error"]
    assert snapshot(world.factory.session)["projects"] == before["projects"]


@pytest.mark.parametrize(
    ("owner", "body", "role", "code", "message"),
    [
        ("owner", {}, "owner", 400, "Missing required field 'name'"),
        ("owner", {"name": "bad/name"}, "owner", 400, "invalid"),
        ("owner", {"name": "123"}, "owner", 400, "number"),
        ("owner", {"name": "x", "chroots": ["fedora-1-x86_64"]}, "owner", 400, "fedora-1"),
        ("owner", {"name": "x", "chroots": 5}, "owner", 400, "chroots"),
        ("owner", {"name": "x", "enable_net": "maybe"}, "owner", 400, "enable_net"),
        ("owner", {"name": "x", "bootstrap": "sometimes"}, "owner", 400, "bootstrap"),
        ("owner", {"name": "x", "isolation": "chroot"}, "owner", 400, "isolation"),
        ("owner", {"name": "x", "delete_after_days": 61}, "owner", 400, "delete_after_days"),
        ("owner", {"name": "x", "repo_priority": 0}, "owner", 400, "repo_priority"),
        ("owner", {"name": "x", "keep_builds": -1}, "owner", 400, "keep_builds"),
        ("owner", {"name": "x", "keep_builds": 1001}, "owner", 400, "keep_builds"),
        ("owner", {"name": "x", "keep_builds": "many"}, "owner", 400, "keep_builds"),
        ("owner", {"name": "x", "keep_builds": True}, "owner", 400, "keep_builds"),
        ("owner", {"name": "x", "additional_repos": ["ftp://x/"]}, "owner", 400, "repository"),
        ("owner", {"name": "x", "homepage": "javascript:alert(1)"}, "owner", 400, "homepage"),
        ("owner", {"name": "x", "storage": "pulp"}, "owner", 400, "storage"),
        ("owner", None, "owner", 400, "must be a JSON object"),
        ("owner", {"name": "x", "persistent": True}, "owner", 403, "persistent"),
        ("owner", {"name": "x", "auto_prune": False}, "owner", 403, "auto-pruning"),
        ("other", {"name": "x"}, "owner", 403, "may not create projects for user other"),
        ("@team", {"name": "x"}, "owner", 403, "not a member of the group @team"),
        ("@nobody", {"name": "x"}, "owner", 404, "Group @nobody does not exist."),
        ("ghost", {"name": "x"}, "owner", 404, "User ghost does not exist."),
        ("owner", {"name": "x"}, "anonymous", 401, "Authorization required"),
    ],
)
def test_add_errors(
    client: FlaskClient,
    world: World,
    owner: str,
    body: dict[str, Any] | None,
    role: str,
    code: int,
    message: str,
) -> None:
    before = snapshot(world.factory.session)
    if body is None:
        response = client.post(
            f"/api_3/project/add/{owner}",
            data="{not json",
            content_type="application/json",
            headers=world.auth(role),
        )
    else:
        response = _add(client, world, owner, body, role=role)
    assert response.status_code == code, response.get_json()
    assert message in response.get_json()["error"]
    after = snapshot(world.factory.session)
    assert {k: v for k, v in after.items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }


def test_site_admin_may_create_persistent(client: FlaskClient, world: World) -> None:
    response = _add(
        client,
        world,
        "owner",
        {"name": "kept", "persistent": True, "auto_prune": False},
        role="root",
    )
    assert response.status_code == 200
    assert response.get_json()["persistent"] is True


def test_edit(client: FlaskClient, world: World) -> None:
    response = client.put(
        "/api_3/project/edit/owner/proj",
        headers=world.auth("padmin"),
        json={
            "description": "new",
            "repos": ["https://example.org/r/"],
            "chroots": ["epel-9-x86_64"],
            "instructions": None,
            "unlisted_on_hp": True,
        },
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["description"] == "new"
    assert data["instructions"] == ""
    assert data["additional_repos"] == ["https://example.org/r/"]
    assert list(data["chroot_repos"]) == ["epel-9-x86_64"]
    image = client.put(
        "/api_3/project/edit/owner/proj",
        headers=world.auth("owner"),
        json={"bootstrap_image": "registry.fedoraproject.org/fedora:42"},
    )
    assert image.get_json()["bootstrap"] == "image"
    chroot = client.get(
        "/api_3/project-chroot/build-config?ownername=owner&projectname=proj"
        "&chrootname=epel-9-x86_64"
    ).get_json()
    assert chroot["bootstrap_image"] == "registry.fedoraproject.org/fedora:42"
    # Re-enabling a chroot brings it (and its configuration) back.
    again = client.post(
        "/api_3/project/edit/owner/proj",
        headers=world.auth("owner"),
        json={"chroots": ["epel-9-x86_64", "fedora-42-x86_64"]},
    )
    assert sorted(again.get_json()["chroot_repos"]) == ["epel-9-x86_64", "fedora-42-x86_64"]


def test_keep_builds(client: FlaskClient, world: World) -> None:
    path = "/api_3/project/edit/owner/proj"
    assert (
        client.get("/api_3/project?ownername=owner&projectname=proj").get_json()["keep_builds"]
        is None
    )
    edited = client.put(path, json={"keep_builds": "3"}, headers=world.auth("padmin"))
    assert edited.get_json()["keep_builds"] == 3
    # null leaves it as it is; 0 turns the limit off.
    same = client.put(path, json={"keep_builds": None, "description": "d"},
                      headers=world.auth("owner"))  # fmt: skip
    assert same.get_json()["keep_builds"] == 3
    off = client.put(path, json={"keep_builds": 0}, headers=world.auth("owner"))
    assert off.get_json()["keep_builds"] is None
    assert (
        client.get("/api_3/project?ownername=owner&projectname=proj").get_json()["keep_builds"]
        is None
    )
    before = snapshot(world.factory.session)
    builder = client.put(path, json={"keep_builds": 1}, headers=world.auth("builder"))
    assert builder.status_code == 403
    assert snapshot(world.factory.session)["projects"] == before["projects"]


@pytest.mark.parametrize(
    ("url", "body", "code"),
    [
        ("/api_3/project/edit/owner/nope", {"description": "x"}, 404),
        ("/api_3/project/edit/owner/proj", {"chroots": ["nope-1-x86_64"]}, 400),
        ("/api_3/project/edit/owner/proj", {"enable_net": "perhaps"}, 400),
        ("/api_3/project/edit/owner/proj", {"auto_prune": False}, 403),
        ("/api_3/project/edit/owner/proj", {"keep_builds": -3}, 400),
        ("/api_3/project/edit/owner/proj", {"keep_builds": 2.5}, 400),
    ],
)
def test_edit_errors(
    client: FlaskClient, world: World, url: str, body: dict[str, Any], code: int
) -> None:
    before = snapshot(world.factory.session)
    response = client.put(url, json=body, headers=world.auth("owner"))
    assert response.status_code == code
    assert snapshot(world.factory.session)["projects"] == before["projects"]


def test_fork_copies_settings_packages_and_succeeded_builds(
    client: FlaskClient, world: World
) -> None:
    factory = world.factory
    done = factory.build(
        world.project,
        package=world.package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    done.pkg_name = "pkg"
    factory.session.commit()
    response = client.put(
        "/api_3/project/fork/owner/proj",
        headers=world.auth("other"),
        json={"name": "forked", "ownername": "other"},
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["full_name"] == "other/forked"
    assert data["forked_from"] == "owner/proj"
    assert data["description"] == "old"
    session = factory.session
    session.expire_all()
    fork_builds = session.scalars(select(Build).where(Build.project_id == data["id"])).all()
    assert len(fork_builds) == 1
    assert fork_builds[0].state == StatusEnum.forked
    packages = client.get("/api_3/package/list?ownername=other&projectname=forked").get_json()
    assert [p["name"] for p in packages["items"]] == ["pkg"]
    action = session.scalars(select(Action).where(Action.action_type == ActionTypeEnum.fork)).one()
    assert action.old_value == "owner/proj"
    assert action.new_value == "other/forked"
    new_id = fork_builds[0].id
    assert action.data["builds_map"]["fedora-42-x86_64"] == {
        f"{done.id:08d}-pkg": f"{new_id:08d}-pkg"
    }
    assert action.data["builds_map"]["srpm-builds"] == {f"{done.id:08d}": f"{new_id:08d}"}


def test_fork_into_existing_needs_confirm(client: FlaskClient, world: World) -> None:
    headers = world.auth("other")
    first = client.post("/api_3/project/fork/owner/proj", json={"name": "f"}, headers=headers)
    assert first.status_code == 200
    before = snapshot(world.factory.session)
    second = client.post("/api_3/project/fork/owner/proj", json={"name": "f"}, headers=headers)
    assert second.status_code == 400
    assert "--confirm" in second.get_json()["error"]
    assert snapshot(world.factory.session)["actions"] == before["actions"]
    confirmed = client.post(
        "/api_3/project/fork/owner/proj", headers=headers, json={"name": "f", "confirm": True}
    )
    assert confirmed.status_code == 200


@pytest.mark.parametrize(
    ("url", "body", "code"),
    [
        ("/api_3/project/fork/owner/nope", {"name": "x"}, 404),
        ("/api_3/project/fork/owner/proj", {"name": "bad name"}, 400),
        ("/api_3/project/fork/owner/proj", {"name": "x", "ownername": "owner"}, 403),
        ("/api_3/project/fork/owner/proj", {"name": "x", "ownername": "@team"}, 403),
        ("/api_3/project/fork/owner/proj", {"name": "x", "confirm": "sure"}, 400),
    ],
)
def test_fork_errors(
    client: FlaskClient, world: World, url: str, body: dict[str, Any], code: int
) -> None:
    before = snapshot(world.factory.session)
    response = client.put(url, json=body, headers=world.auth("other"))
    assert response.status_code == code, response.get_json()
    assert snapshot(world.factory.session)["projects"] == before["projects"]


def test_delete_and_regenerate(client: FlaskClient, world: World) -> None:
    headers = world.auth("owner")
    regen = client.put("/api_3/project/regenerate-repos/owner/proj", headers=headers)
    assert regen.status_code == 200
    world.factory.build(
        world.project, chroot_status=StatusEnum.running, source_status=StatusEnum.succeeded
    )
    deleted = client.delete(
        "/api_3/project/delete/owner/proj", headers=headers, json={"verify": True}
    )
    assert deleted.status_code == 200
    assert deleted.get_json()["full_name"] == "owner/proj"
    assert client.get("/api_3/project?ownername=owner&projectname=proj").status_code == 404
    session = world.factory.session
    session.expire_all()
    actions = session.scalars(select(Action).order_by(Action.id)).all()
    assert [(a.action_type, a.object_type) for a in actions] == [
        (ActionTypeEnum.createrepo, "repository"),
        (ActionTypeEnum.delete, "copr"),
    ]
    assert actions[1].data["project_dirnames"] == ["proj"]
    assert client.delete("/api_3/project/delete/owner/proj", headers=headers).status_code == 404


def test_webhook_secret(client: FlaskClient, world: World) -> None:
    old = world.project.webhook_secret
    response = client.post("/api_3/webhook/generate/owner/proj", headers=world.auth("owner"))
    assert response.status_code == 200
    secret = response.get_json()["webhook_secret"]
    assert str(uuid.UUID(secret)) == secret  # a UUID, as Copr's
    assert secret != old
    missing = client.post("/api_3/webhook/generate/owner/nope", headers=world.auth("owner"))
    assert missing.status_code == 404


def test_api_token(client: FlaskClient, world: World) -> None:
    headers = world.auth("other")
    response = client.post("/api_3/api-token", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"api_login", "api_token", "expiration"}
    # The old token stops working, the new one works.
    assert client.get("/api_3/auth-check", headers=headers).status_code == 401
    from copr_frontend.testing import basic_auth

    fresh = basic_auth(data["api_login"], data["api_token"])
    assert client.get("/api_3/auth-check", headers=fresh).get_json()["name"] == "other"
    assert client.post("/api_3/api-token").status_code == 401
