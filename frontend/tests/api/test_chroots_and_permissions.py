"""API v3 project-chroot, mock-chroot, permission and monitor routes."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_common.enums import StatusEnum

from .conftest import World, snapshot

CHROOT_URL = "/api_3/project-chroot/edit/owner/proj/fedora-42-x86_64"
COMPS = b'<?xml version="1.0"?>\n<comps><group><id>x</id></group></comps>\n'


def _multipart(data: dict[str, Any]) -> tuple[bytes, str]:
    boundary, payload = encode_multipart(MultiDict(data))
    return payload, f"multipart/form-data; boundary={boundary}"


def test_project_chroot(client: FlaskClient, world: World) -> None:
    query = "ownername=owner&projectname=proj&chrootname=fedora-42-x86_64"
    data = client.get(f"/api_3/project-chroot?{query}").get_json()
    assert data["mock_chroot"] == "fedora-42-x86_64"
    assert data["additional_packages"] == []
    payload, content_type = _multipart(
        {
            "json": FileStorage(
                io.BytesIO(
                    json.dumps(
                        {
                            "additional_packages": ["make", "gcc"],
                            "additional_repos": ["copr://other/dep"],
                            "with_opts": "foo bar",
                            "isolation": "simple",
                            "bootstrap": "off",
                        }
                    ).encode()
                ),
                "json",
                content_type="application/json",
            ),
            "upload_comps": FileStorage(io.BytesIO(COMPS), "comps.xml"),
        }
    )
    edited = client.put(
        CHROOT_URL, data=payload, content_type=content_type, headers=world.auth("padmin")
    )
    assert edited.status_code == 200, edited.get_json()
    result = edited.get_json()
    assert result["additional_packages"] == ["make", "gcc"]
    assert result["with_opts"] == ["foo", "bar"]
    assert result["comps_name"] == "comps.xml"
    config = client.get(f"/api_3/project-chroot/build-config?{query}").get_json()
    assert config["chroot"] == "fedora-42-x86_64"
    assert config["repos"][0]["baseurl"] == (
        "http://results.test/results/owner/proj/fedora-42-x86_64/"
    )
    assert config["additional_repos"][0]["baseurl"] == (
        "http://results.test/results/other/dep/fedora-42-x86_64/"
    )
    assert config["additional_packages"] == ["make", "gcc"]
    assert config["isolation"] == "simple"
    assert config["bootstrap"] == "off"
    reset = client.put(
        CHROOT_URL,
        json={"reset_fields": ["additional_packages", "isolation"], "delete_comps": True},
        headers=world.auth("owner"),
    )
    assert reset.get_json()["additional_packages"] == []
    assert reset.get_json()["isolation"] == "unchanged"
    assert reset.get_json()["comps_name"] is None
    image = client.put(
        CHROOT_URL, json={"bootstrap_image": "fedora:42"}, headers=world.auth("owner")
    )
    assert image.get_json()["bootstrap"] == "image"


@pytest.mark.parametrize(
    ("url", "body", "code", "message"),
    [
        ("/api_3/project-chroot/edit/owner/proj/fedora-1-x86_64", {}, 404, "not enabled"),
        ("/api_3/project-chroot/edit/owner/nope/fedora-42-x86_64", {}, 404, "does not exist"),
        (CHROOT_URL, {"isolation": "vm"}, 400, "isolation"),
        (CHROOT_URL, {"bootstrap": "sometimes"}, 400, "bootstrap"),
        (
            CHROOT_URL,
            {"reset_fields": ["owner"]},
            400,
            "Trying to reset an invalid attribute: owner",
        ),
        (CHROOT_URL, {"additional_packages": {"a": 1}}, 400, "additional_packages"),
        (CHROOT_URL, {"bootstrap_image": ["x"]}, 400, "bootstrap_image"),
        (CHROOT_URL, "COMPS", 400, "not a comps.xml"),
    ],
)
def test_project_chroot_errors(
    client: FlaskClient, world: World, url: str, body: Any, code: int, message: str
) -> None:
    before = snapshot(world.factory.session)
    if body == "COMPS":
        payload, content_type = _multipart(
            {"json": "{}", "upload_comps": FileStorage(io.BytesIO(b"<html>no</html>"), "comps.xml")}
        )
        response = client.put(
            url, data=payload, content_type=content_type, headers=world.auth("owner")
        )
    else:
        response = client.put(url, json=body, headers=world.auth("owner"))
    assert response.status_code == code, response.get_json()
    assert message in response.get_json()["error"]
    assert snapshot(world.factory.session)["project_chroots"] == before["project_chroots"]


def test_project_chroot_get_errors(client: FlaskClient, world: World) -> None:
    base = "/api_3/project-chroot?ownername=owner&projectname=proj"
    assert client.get(base).status_code == 400
    assert client.get(base + "&chrootname=fedora-1-x86_64").status_code == 404
    assert (
        client.get(
            "/api_3/project-chroot/build-config?ownername=owner&projectname=x"
            "&chrootname=fedora-42-x86_64"
        ).status_code
        == 404
    )


def test_mock_chroots(client: FlaskClient, world: World) -> None:
    world.factory.mock_chroot("fedora-41-x86_64", active=False)
    data = client.get("/api_3/mock-chroots/list").get_json()
    assert sorted(data) == ["epel-9-x86_64", "fedora-42-aarch64", "fedora-42-x86_64"]


def test_permissions_flow(client: FlaskClient, world: World) -> None:
    base = "/api_3/project/permissions"
    asked = client.put(
        f"{base}/request/owner/proj",
        json={"admin": True, "builder": True},
        headers=world.auth("other"),
    )
    assert asked.get_json() == {"updated": True}
    repeated = client.put(
        f"{base}/request/owner/proj", json={"admin": True}, headers=world.auth("other")
    )
    assert repeated.get_json() == {"updated": False}
    listed = client.get(f"{base}/get/owner/proj", headers=world.auth("owner")).get_json()
    assert listed["permissions"]["other"] == {"admin": "request", "builder": "request"}
    assert listed["permissions"]["builder"] == {"admin": "nothing", "builder": "approved"}
    can = client.get(f"{base}/can_build_in/other/owner/proj").get_json()
    assert can == {
        "who": "other",
        "ownername": "owner",
        "projectname": "proj",
        "can_build_in": False,
    }
    approved = client.put(
        f"{base}/set/owner/proj",
        headers=world.auth("padmin"),
        json={"other": {"builder": "approved"}, "builder": {"builder": "approved"}},
    )
    assert approved.get_json() == {"updated": ["other"]}
    assert client.get(f"{base}/can_build_in/other/owner/proj").get_json()["can_build_in"]
    dropped = client.put(
        f"{base}/request/owner/proj", json={"builder": False}, headers=world.auth("other")
    )
    assert dropped.get_json() == {"updated": True}
    assert not client.get(f"{base}/can_build_in/other/owner/proj").get_json()["can_build_in"]


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "message"),
    [
        ("PUT", "set/owner/proj", {}, 400, "No permission change"),
        ("PUT", "set/owner/proj", [1], 400, "JSON object"),
        ("PUT", "set/owner/proj", {"ghost": {"builder": "approved"}}, 400, "does not exist"),
        ("PUT", "set/owner/proj", {"other": {"builder": "granted"}}, 400, "granted"),
        ("PUT", "set/owner/proj", {"other": {"janitor": "approved"}}, 400, "janitor"),
        ("PUT", "set/owner/proj", {"other": "approved"}, 400, "must be an object"),
        (
            "PUT",
            "set/owner/proj",
            {"other": {"builder": "approved"}, "owner": {"admin": "nothing"}},
            400,
            "owns",
        ),
        ("PUT", "set/owner/nope", {"other": {"builder": "approved"}}, 404, "does not exist"),
        ("PUT", "request/owner/proj", {}, 400, "No permission requested"),
        ("PUT", "request/owner/proj", {"builder": "please"}, 400, "builder"),
        ("PUT", "request/owner/proj", {"janitor": True}, 400, "janitor"),
        ("GET", "can_build_in/ghost/owner/proj", None, 404, "User ghost"),
        ("GET", "can_build_in/other/owner/nope", None, 404, "owner/nope"),
    ],
)
def test_permission_errors(
    client: FlaskClient, world: World, method: str, path: str, body: Any, code: int, message: str
) -> None:
    role = "other" if path.startswith("request") else "owner"
    before = snapshot(world.factory.session)
    response = client.open(
        f"/api_3/project/permissions/{path}", method=method, json=body, headers=world.auth(role)
    )
    assert response.status_code == code, response.get_json()
    assert message in response.get_json()["error"]
    assert snapshot(world.factory.session)["project_permissions"] == before["project_permissions"]


def test_permissions_none_set(client: FlaskClient, world: World) -> None:
    project = world.factory.project(world.users["other"], "lonely")
    assert project.full_name == "other/lonely"
    response = client.get(
        "/api_3/project/permissions/get/other/lonely", headers=world.auth("other")
    )
    assert response.status_code == 404
    assert "No permissions set" in response.get_json()["error"]


def test_monitor(client: FlaskClient, world: World) -> None:
    factory = world.factory
    old = factory.build(
        world.project,
        package=world.package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.failed,
    )
    new = factory.build(
        world.project,
        package=world.package,
        chroots=["fedora-42-x86_64"],
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    for build in (old, new):
        build.pkg_version = f"1.{build.id}"
    factory.session.commit()
    data = client.get(
        "/api_3/monitor?ownername=owner&projectname=proj"
        "&additional_fields[]=url_build_log&additional_fields[]=url_build"
    ).get_json()
    assert data["output"] == "ok"
    (package,) = data["packages"]
    assert package["name"] == "pkg"
    assert package["chroots"]["fedora-42-x86_64"]["build_id"] == new.id
    assert package["chroots"]["fedora-42-x86_64"]["state"] == "succeeded"
    assert package["chroots"]["epel-9-x86_64"]["build_id"] == old.id
    assert package["chroots"]["epel-9-x86_64"]["pkg_version"] == f"1.{old.id}"
    assert package["chroots"]["fedora-42-x86_64"]["url_build_log"].endswith(
        f"/fedora-42-x86_64/{new.id:08d}-pkg/builder-live.log.gz"
    )
    assert (
        client.get(
            "/api_3/monitor?ownername=owner&projectname=proj" "&additional_fields[]=secrets"
        ).status_code
        == 400
    )
    assert (
        client.get(
            "/api_3/monitor?ownername=owner&projectname=proj" "&project_dirname=proj:pr:1"
        ).status_code
        == 404
    )
    assert client.get("/api_3/monitor?ownername=owner&projectname=x").status_code == 404
