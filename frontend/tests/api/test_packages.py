"""API v3 package routes: success and error paths; nothing stored on bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build

from .conftest import World, snapshot


def _unchanged(world: World, before: dict[str, Any]) -> None:
    after = snapshot(world.factory.session)
    assert {k: v for k, v in after.items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }


def test_get_and_list(client: FlaskClient, world: World) -> None:
    done = world.factory.build(
        world.project,
        package=world.package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    newer = world.factory.build(world.project, package=world.package)
    base = "/api_3/package?ownername=owner&projectname=proj&packagename=pkg"
    plain = client.get(base).get_json()
    assert plain["name"] == "pkg"
    assert plain["source_type"] == "scm"
    assert plain["source_dict"] == {"clone_url": "https://example.org/repo.git", "type": "git"}
    assert plain["builds"] == {"latest": None, "latest_succeeded": None}
    full = client.get(base + "&with_latest_build=True&with_latest_succeeded_build=true")
    builds = full.get_json()["builds"]
    assert builds["latest"]["id"] == newer.id
    assert builds["latest_succeeded"]["id"] == done.id
    listed = client.get(
        "/api_3/package/list?ownername=owner&projectname=proj" "&with_latest_build=1"
    ).get_json()
    assert [(p["name"], p["builds"]["latest"]["id"]) for p in listed["items"]] == [
        ("pkg", newer.id)
    ]
    assert client.get(base.replace("=pkg", "=nope")).status_code == 404
    assert client.get(base + "&with_latest_build=maybe").status_code == 400
    assert client.get("/api_3/package/list?ownername=owner&projectname=nope").status_code == 404


def test_add_edit_reset(client: FlaskClient, world: World) -> None:
    headers = world.auth("builder")
    added = client.post(
        "/api_3/package/add/owner/proj/tool/scm",
        headers=headers,
        json={
            "package_name": "tool",
            "clone_url": "https://example.org/tool.git",
            "source_build_method": "tito",
            "webhook_rebuild": True,
            "max_builds": 3,
            "chroot_denylist": ["epel-*"],
            "committish": None,
            "timeout": 3600,
        },
    )
    assert added.status_code == 200, added.get_json()
    data = added.get_json()
    assert data["source_dict"]["source_build_method"] == "tito"
    assert data["auto_rebuild"] is True
    assert data["chroot_denylist"] == ["epel-*"]
    assert data["timeout"] == 3600
    # An edit changes only the fields it names.
    edited = client.post(
        "/api_3/package/edit/owner/proj/tool/scm",
        headers=headers,
        json={"committish": "main", "clone_url": None},
    )
    assert edited.status_code == 200, edited.get_json()
    source = edited.get_json()["source_dict"]
    assert source["clone_url"] == "https://example.org/tool.git"
    assert source["committish"] == "main"
    assert source["source_build_method"] == "tito"
    # Switching the source type takes the new type's fields.
    switched = client.put(
        "/api_3/package/edit/owner/proj/tool/pypi",
        headers=headers,
        json={"pypi_package_name": "tool"},
    )
    assert switched.get_json()["source_type"] == "pypi"
    reset = client.put(
        "/api_3/package/reset",
        headers=headers,
        json={"ownername": "owner", "projectname": "proj", "package_name": "tool"},
    )
    assert reset.get_json()["source_type"] == "unset"
    assert reset.get_json()["source_dict"] == {}
    no_source = client.post(
        "/api_3/package/build",
        headers=headers,
        json={"ownername": "owner", "projectname": "proj", "package_name": "tool"},
    )
    assert no_source.status_code == 400
    assert "has no source" in no_source.get_json()["error"]
    by_query = client.post(
        "/api_3/package/add?ownername=owner&projectname=proj&package_name=gem"
        "&source_type_text=rubygems",
        headers=headers,
        json={"gem_name": "rake"},
    )
    assert by_query.get_json()["source_dict"] == {"gem_name": "rake"}
    missing = client.post(
        "/api_3/package/add?ownername=owner&projectname=proj", json={}, headers=headers
    )
    assert missing.status_code == 400
    distgit = client.post(
        "/api_3/package/add/owner/proj/tar/distgit",
        headers=headers,
        json={"distgit": "fedora", "committish": "f42"},
    )
    assert distgit.get_json()["source_dict"]["clone_url"] == (
        "https://src.fedoraproject.org/rpms/tar.git"
    )


@pytest.mark.parametrize(
    ("url", "body", "code", "message"),
    [
        (
            "/api_3/package/add/owner/proj/pkg/scm",
            {"clone_url": "https://e.org/x.git"},
            409,
            "already exists",
        ),
        (
            "/api_3/package/add/owner/proj/bad name/scm",
            {"clone_url": "https://e.org/x.git"},
            400,
            "invalid",
        ),
        ("/api_3/package/add/owner/proj/x/svnish", {}, 400, "Unsupported package source type"),
        ("/api_3/package/add/owner/proj/x/scm", {}, 400, "clone_url"),
        (
            "/api_3/package/add/owner/proj/x/scm",
            {"clone_url": "https://e.org/x.git", "max_builds": -1},
            400,
            "max_builds",
        ),
        (
            "/api_3/package/add/owner/proj/x/scm",
            {"clone_url": "https://e.org/x.git", "webhook_rebuild": "y-ish"},
            400,
            "webhook",
        ),
        (
            "/api_3/package/add/owner/proj/x/scm",
            {"clone_url": "https://e.org/x.git", "timeout": -1},
            400,
            "timeout",
        ),
        (
            "/api_3/package/add/owner/nope/x/scm",
            {"clone_url": "https://e.org/x.git"},
            404,
            "does not exist",
        ),
        (
            "/api_3/package/edit/owner/proj/nope/scm",
            {"clone_url": "https://e.org/x.git"},
            404,
            "No package",
        ),
        (
            "/api_3/package/edit/owner/proj/pkg/scm",
            {"clone_url": "ftp://e.org/x"},
            400,
            "clone_url",
        ),
        ("/api_3/package/edit/owner/proj/pkg/pypi", {}, 400, "pypi_package_name"),
    ],
)
def test_add_edit_errors(
    client: FlaskClient, world: World, url: str, body: dict[str, Any], code: int, message: str
) -> None:
    before = snapshot(world.factory.session)
    response = client.post(url, json=body, headers=world.auth("owner"))
    assert response.status_code == code, response.get_json()
    assert message in response.get_json()["error"]
    _unchanged(world, before)


def test_build_package(client: FlaskClient, world: World) -> None:
    world.package.chroot_denylist = ["epel-*"]
    world.package.timeout = 7200
    world.factory.session.commit()
    response = client.post(
        "/api_3/package/build",
        headers=world.auth("builder"),
        json={
            "ownername": "owner",
            "projectname": "proj",
            "package_name": "pkg",
            "exclude_chroots": ["*aarch64"],
            "background": True,
        },
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["chroots"] == ["fedora-42-x86_64"]
    assert data["source_package"]["name"] == "pkg"
    build = world.factory.session.get(Build, data["id"])
    assert build is not None
    assert build.timeout == 7200  # the package's own timeout
    assert sorted((e.mock_chroot.name, e.reason) for e in build.exclusions) == [
        ("epel-9-x86_64", "denylist"),
        ("fedora-42-aarch64", "exclude_chroots"),
    ]
    everything = client.post(
        "/api_3/package/build",
        headers=world.auth("owner"),
        json={
            "ownername": "owner",
            "projectname": "proj",
            "package_name": "pkg",
            "chroots": ["epel-9-x86_64"],
        },
    )
    assert everything.status_code == 400
    assert "excluded" in everything.get_json()["error"]
    missing = client.post(
        "/api_3/package/build",
        headers=world.auth("owner"),
        json={"ownername": "owner", "projectname": "proj", "package_name": "nope"},
    )
    assert missing.status_code == 404


def test_delete_package(client: FlaskClient, world: World) -> None:
    headers = world.auth("owner")
    body = {"ownername": "owner", "projectname": "proj", "package_name": "pkg"}
    running = world.factory.build(world.project, package=world.package)
    busy = client.delete("/api_3/package/delete", json=body, headers=headers)
    assert busy.status_code == 409
    assert str(running.id) in busy.get_json()["error"]
    client.put(f"/api_3/build/cancel/{running.id}", headers=headers)
    deleted = client.delete("/api_3/package/delete", json=body, headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json()["name"] == "pkg"
    assert client.delete("/api_3/package/delete", json=body, headers=headers).status_code == 404
    assert client.get(f"/api_3/build/{running.id}").status_code == 404
