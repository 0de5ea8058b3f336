"""API v3 build and build-chroot routes: reading, every source, options, batches,
uploads, cancel and delete; bad input gives a clear error and stores nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.settings import FrontendSettings

from .conftest import World, snapshot

RPM = b"\xed\xab\xee\xdb" + b"\0" * 100


def _create(
    client: FlaskClient, world: World, kind: str, role: str = "owner", **fields: Any
) -> Any:
    body = {"ownername": "owner", "projectname": "proj", **fields}
    return client.post(f"/api_3/build/create/{kind}", json=body, headers=world.auth(role))


def _unchanged(world: World, before: dict[str, Any]) -> None:
    after = snapshot(world.factory.session)
    assert {k: v for k, v in after.items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }


def test_get_build(client: FlaskClient, world: World) -> None:
    data = client.get(f"/api_3/build/{world.build.id}").get_json()
    assert data["id"] == world.build.id
    assert data["state"] == "pending"
    assert data["ownername"] == "owner"
    assert data["projectname"] == "proj"
    assert data["project_dirname"] == "proj"
    assert data["repo_url"] == "http://results.test/results/owner/proj"
    assert data["source_package"] == {"name": None, "version": None, "url": None}
    assert data["submitter"] == "owner"
    assert data["chroots"] == ["epel-9-x86_64", "fedora-42-aarch64", "fedora-42-x86_64"]
    assert data["is_background"] is False
    assert isinstance(data["submitted_on"], int)
    assert client.get(f"/api_3/build?build_id={world.build.id}").status_code == 200
    assert client.get("/api_3/build/999999").status_code == 404
    assert client.get("/api_3/build/abc").status_code == 404


def test_build_list(client: FlaskClient, world: World) -> None:
    factory = world.factory
    done = factory.build(
        world.project,
        package=world.package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    query = "/api_3/build/list?ownername=owner&projectname=proj"
    assert [b["id"] for b in client.get(query).get_json()["items"]] == [world.build.id, done.id]
    assert [b["id"] for b in client.get(query + "&status=succeeded").get_json()["items"]] == [
        done.id
    ]
    assert [b["id"] for b in client.get(query + "&packagename=pkg").get_json()["items"]] == [
        done.id
    ]
    page = client.get(query + "&limit=1&order=id&order_type=DESC").get_json()
    assert [b["id"] for b in page["items"]] == [done.id]
    assert page["meta"]["total"] == 2
    assert page["meta"]["last_id"] == done.id  # a full page by id: where the next starts
    keyset = client.get(query + f"&limit=1&order=id&order_type=DESC&after_id={done.id}")
    assert [b["id"] for b in keyset.get_json()["items"]] == [world.build.id]
    assert "last_id" in keyset.get_json()["meta"]
    after_all = client.get(query + f"&limit=5&after_id={done.id}").get_json()
    assert after_all["items"] == []
    assert "last_id" not in after_all["meta"]
    assert client.get(query + "&status=great").status_code == 400
    assert client.get("/api_3/build/list?ownername=owner&projectname=nope").status_code == 404
    for bad, message in (
        ("&after_id=x", "after_id"),
        (f"&after_id={2**31}", "after_id"),
        ("&after_id=1&order=submitted_on", "needs order=id"),
    ):
        answer = client.get(query + bad)
        assert answer.status_code == 400, bad
        assert message in answer.get_json()["error"], bad


def test_build_list_items_are_the_builds_json(client: FlaskClient, world: World) -> None:
    """A page is serialized from plain columns (builds.serialize.builds_to_json): each
    item must be what build/get answers for that build, whatever it has or lacks."""
    factory = world.factory
    started = factory.build(
        world.project,
        package=world.package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.running,
    )
    started.chroots[0].started_on = 1_700_000_000
    started.timings = {"submitted": 1_699_999_000.5, "source_started": 1_699_999_100.0}
    anonymous = factory.build(world.project, chroots=["fedora-42-x86_64"], dirname="proj:custom:7")
    anonymous.user = None
    anonymous.submitted_by = "a webhook"
    anonymous.pkg_name, anonymous.pkg_version = "unpackaged", "1.0-1"
    anonymous.fail_reason = "the import failed"
    no_chroots = factory.build(world.project, chroots=[])
    factory.session.commit()
    items = client.get("/api_3/build/list?ownername=owner&projectname=proj").get_json()["items"]
    assert [item["id"] for item in items] == [
        world.build.id, started.id, anonymous.id, no_chroots.id
    ]  # fmt: skip
    for item in items:
        assert item == client.get(f"/api_3/build/{item['id']}").get_json()
    assert items[1]["started_on"] == 1_700_000_000
    assert items[2]["submitter"] == "a webhook"
    assert items[2]["project_dirname"] == "proj:custom:7"
    assert items[2]["source_package"]["name"] == "unpackaged"
    assert items[3]["chroots"] == []


def test_source_chroot_config_and_built_packages(client: FlaskClient, world: World) -> None:
    build = world.build
    chroot = build.chroot("fedora-42-x86_64")
    assert chroot is not None
    chroot.results = {
        "packages": [{"name": "pkg", "epoch": 0, "version": "1", "release": "1", "arch": "x86_64"}]
    }
    world.factory.session.commit()
    source = client.get(f"/api_3/build/source-chroot/{build.id}").get_json()
    assert source == {
        "state": "pending",
        "result_url": f"http://results.test/results/owner/proj/srpm-builds/{build.id:08d}/",
    }
    config = client.get(f"/api_3/build/source-build-config/{build.id}").get_json()
    assert config["source_type"] == "link"
    assert config["source_dict"] == {"url": "https://example.org/hello-1-1.src.rpm"}
    packages = client.get(f"/api_3/build/built-packages/{build.id}").get_json()
    assert packages["fedora-42-x86_64"]["packages"][0]["name"] == "pkg"
    assert packages["epel-9-x86_64"] == {"packages": []}
    one = client.get(
        f"/api_3/build-chroot/built-packages?build_id={build.id}" "&chrootname=fedora-42-x86_64"
    ).get_json()
    assert one["packages"][0]["arch"] == "x86_64"
    for route in ("source-chroot", "source-build-config", "built-packages"):
        assert client.get(f"/api_3/build/{route}/424242").status_code == 404


def test_build_chroots(client: FlaskClient, world: World) -> None:
    build = world.build
    build.pkg_name = "hello"
    world.factory.session.commit()
    base = f"/api_3/build-chroot?build_id={build.id}&chrootname="
    data = client.get(base + "fedora-42-x86_64").get_json()
    assert data == {
        "name": "fedora-42-x86_64",
        "state": "waiting",
        "started_on": None,
        "ended_on": None,
        "result_url": "http://results.test/results/owner/proj/"
        f"fedora-42-x86_64/{build.id:08d}-hello/",
        "fail_reason": None,
        "buildroot": None,
        "buildrequires_not_installed": None,
        "timings": {},
        "rpmlint": None,
        "attestations": None,
    }
    assert client.get(f"/api_3/build-chroot/{build.id}/epel-9-x86_64").status_code == 200
    assert client.get(base + "fedora-1-x86_64").status_code == 404
    assert client.get(f"/api_3/build-chroot?build_id={build.id}").status_code == 400
    listed = client.get(f"/api_3/build-chroot/list?build_id={build.id}&order=name").get_json()
    assert [c["name"] for c in listed["items"]] == [
        "epel-9-x86_64",
        "fedora-42-aarch64",
        "fedora-42-x86_64",
    ]
    config = client.get(
        f"/api_3/build-chroot/build-config?build_id={build.id}" "&chrootname=fedora-42-x86_64"
    ).get_json()
    assert config["repos"][0]["baseurl"] == (
        "http://results.test/results/owner/proj/fedora-42-x86_64/"
    )
    assert config["timeout"] == build.timeout
    assert config["isolation"] == "default"
    assert client.get("/api_3/build-chroot/list?build_id=777777").status_code == 404


def test_create_from_urls_with_options(
    client: FlaskClient, world: World, settings: FrontendSettings
) -> None:
    response = _create(
        client,
        world,
        "url",
        pkgs=["https://example.org/a-1-1.src.rpm", "https://example.org/b.spec"],
        chroots=["fedora-*"],
        exclude_chroots=["*-aarch64"],
        timeout=3600,
        background=True,
        enable_net=True,
        bootstrap="off",
        isolation="nspawn",
    )
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert len(items) == 2
    assert items[0]["chroots"] == ["fedora-42-x86_64"]
    assert items[0]["is_background"] is True
    session = world.factory.session
    build = session.get(Build, items[0]["id"])
    assert build is not None
    assert build.timeout == 3600
    assert build.enable_net is True
    assert build.bootstrap == "off"
    assert build.isolation == "nspawn"
    assert build.source_type == BuildSourceEnum.link
    assert [e.mock_chroot.name for e in build.exclusions] == ["fedora-42-aarch64"]
    default = _create(client, world, "url", pkgs="https://example.org/c-1-1.src.rpm")
    built = session.get(Build, default.get_json()["items"][0]["id"])
    assert built is not None
    assert built.timeout == settings.build_timeout_default
    assert len(built.chroots) == 3


def test_batches(client: FlaskClient, world: World) -> None:
    first = world.build.id
    after = _create(client, world, "url", pkgs=["https://e.org/a.spec"], after_build_id=first)
    together = _create(client, world, "url", pkgs=["https://e.org/b.spec"], with_build_id=first)
    session = world.factory.session
    session.expire_all()
    leader = session.get(Build, first)
    follower = session.get(Build, after.get_json()["items"][0]["id"])
    partner = session.get(Build, together.get_json()["items"][0]["id"])
    assert leader is not None
    assert follower is not None
    assert partner is not None
    assert partner.batch_id == leader.batch_id
    assert follower.batch is not None
    assert follower.batch.blocked_by_id == leader.batch_id


def test_project_dirname(client: FlaskClient, world: World) -> None:
    response = _create(
        client, world, "url", pkgs=["https://e.org/a.spec"], project_dirname="proj:custom:test"
    )
    assert response.get_json()["items"][0]["project_dirname"] == "proj:custom:test"
    assert response.get_json()["items"][0]["repo_url"].endswith("/owner/proj:custom:test")


@pytest.mark.parametrize(
    ("kind", "fields", "code", "message"),
    [
        ("url", {"pkgs": []}, 400, "at least one URL"),
        ("url", {"pkgs": ["ftp://e.org/a.src.rpm"]}, 400, "http/https URL"),
        ("url", {"pkgs": ["https://e.org/a.tar.gz"]}, 400, ".src.rpm or .spec"),
        # One bad URL of several: no build at all.
        ("url", {"pkgs": ["https://e.org/a.spec", "https://e.org/b"]}, 400, ".src.rpm or .spec"),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "chroots": ["fedora-1-x86_64"]},
            400,
            "fedora-1-x86_64",
        ),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "exclude_chroots": ["*"]},
            400,
            "were all excluded",
        ),
        ("url", {"pkgs": ["https://e.org/a.spec"], "timeout": -1}, 400, "timeout"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "timeout": 10**9}, 400, "timeout"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "background": "often"}, 400, "background"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "bootstrap": "x"}, 400, "bootstrap"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "isolation": "x"}, 400, "isolation"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "after_build_id": 999999}, 404, "999999"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "with_build_id": "x"}, 400, "integer"),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "after_build_id": "SELF", "with_build_id": "SELF"},
            400,
            "either",
        ),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "after_build_id": "GROUP"},
            400,
            "cannot span projects",
        ),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "project_dirname": "other:custom:x"},
            400,
            "does not belong",
        ),
        (
            "url",
            {"pkgs": ["https://e.org/a.spec"], "project_dirname": "proj:weird:x"},
            400,
            "invalid",
        ),
        ("url", {"pkgs": ["https://e.org/a.spec"], "projectname": "nope"}, 404, "nope"),
        ("url", {"pkgs": ["https://e.org/a.spec"], "projectname": None}, 400, "projectname"),
        ("scm", {}, 400, "clone_url"),
        ("scm", {"clone_url": "file:///etc"}, 400, "clone_url"),
        ("scm", {"clone_url": "https://e.org/r.git", "subdirectory": "../x"}, 400, "inside"),
        ("scm", {"clone_url": "https://e.org/r.git", "scm_type": "cvs"}, 400, "scm_type"),
        (
            "scm",
            {"clone_url": "https://e.org/r.git", "source_build_method": "magic"},
            400,
            "srpm_build_method",
        ),
        ("scm", {"clone_url": "https://e.org/r.git", "committish": "-rf"}, 400, "committish"),
        ("pypi", {}, 400, "pypi_package_name"),
        ("pypi", {"pypi_package_name": "x", "python_versions": [4]}, 400, "python_versions"),
        ("pypi", {"pypi_package_name": "x", "spec_generator": "gpt"}, 400, "spec_generator"),
        ("rubygems", {"gem_name": "a b"}, 400, "gem_name"),
        ("custom", {"script": ""}, 400, "script"),
        ("custom", {"script": "x", "resultdir": "/etc"}, 400, "resultdir"),
        ("distgit", {}, 400, "package_name"),
        ("distgit", {"package_name": ["tar"]}, 400, "'package_name' must be text"),
        ("distgit", {"package_name": "tar", "distgit": "gitlab"}, 400, "Unknown dist-git"),
        ("distgit", {"package_name": "tar", "distgit": "copr"}, 400, "namespace"),
    ],
)
def test_create_errors(
    client: FlaskClient, world: World, kind: str, fields: dict[str, Any], code: int, message: str
) -> None:
    ids = {"GROUP": world.group_build.id, "SELF": world.build.id}
    fields = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    before = snapshot(world.factory.session)
    response = _create(client, world, kind, **fields)
    assert response.status_code == code, response.get_json()
    assert message in response.get_json()["error"]
    _unchanged(world, before)


@pytest.mark.parametrize(
    ("kind", "fields", "source_type", "expected"),
    [
        (
            "scm",
            {
                "clone_url": "https://e.org/r.git",
                "committish": "v1",
                "subdirectory": "sub",
                "spec": "x.spec",
                "source_build_method": "make_srpm",
            },
            BuildSourceEnum.scm,
            {
                "type": "git",
                "clone_url": "https://e.org/r.git",
                "committish": "v1",
                "subdirectory": "sub",
                "spec": "x.spec",
                "srpm_build_method": "make_srpm",
            },
        ),
        (
            "pypi",
            {
                "pypi_package_name": "requests",
                "pypi_package_version": "2.0",
                "python_versions": [3],
            },
            BuildSourceEnum.pypi,
            {
                "pypi_package_name": "requests",
                "pypi_package_version": "2.0",
                "spec_generator": "pyp2spec",
                "spec_template": "",
                "python_versions": ["3"],
            },
        ),
        ("rubygems", {"gem_name": "rake"}, BuildSourceEnum.rubygems, {"gem_name": "rake"}),
        (
            "custom",
            {
                "script": "#!/bin/sh\necho",
                "chroot": "fedora-42-x86_64",
                "builddeps": "make git",
                "resultdir": "out",
                "repos": ["https://e.org/r"],
            },
            BuildSourceEnum.custom,
            {
                "script": "#!/bin/sh\necho\n",
                "chroot": "fedora-42-x86_64",
                "builddeps": "make git",
                "resultdir": "out",
                "repos": "https://e.org/r",
            },
        ),
        (
            "distgit",
            {"package_name": "tar", "committish": "f42"},
            BuildSourceEnum.distgit,
            {
                "clone_url": "https://src.fedoraproject.org/rpms/tar.git",
                "committish": "f42",
                "distgit": "fedora",
            },
        ),
        (
            "distgit",
            {"package_name": "tar", "distgit": "copr", "namespace": "@copr/copr"},
            BuildSourceEnum.distgit,
            {
                "clone_url": "http://distgit.test/git/@copr/copr/tar.git",
                "distgit": "copr",
                "namespace": "@copr/copr",
            },
        ),
    ],
)
def test_create_from_sources(
    client: FlaskClient,
    world: World,
    kind: str,
    fields: dict[str, Any],
    source_type: BuildSourceEnum,
    expected: dict[str, Any],
) -> None:
    response = _create(client, world, kind, **fields)
    assert response.status_code == 200, response.get_json()
    build = world.factory.session.get(Build, response.get_json()["id"])
    assert build is not None
    assert build.source_type == source_type
    assert build.source_json == expected
    assert build.state == StatusEnum.pending


def test_check_before_build(client: FlaskClient, world: World) -> None:
    before = snapshot(world.factory.session)
    ok = client.post(
        "/api_3/build/check-before-build",
        headers=world.auth("builder"),
        json={
            "ownername": "owner",
            "projectname": "proj",
            "project_dirname": "proj:custom:new",
            "chroots": ["epel-9-x86_64"],
        },
    )
    assert ok.status_code == 200, ok.get_json()
    bad = client.post(
        "/api_3/build/check-before-build",
        headers=world.auth("builder"),
        json={"ownername": "owner", "projectname": "proj", "chroots": ["x-1-y"]},
    )
    assert bad.status_code == 400
    _unchanged(world, before)


def _upload(
    client: FlaskClient,
    world: World,
    content: bytes,
    name: str,
    json_as_file: bool = False,
    **fields: Any,
) -> Any:
    """POST a multipart upload as python-copr does (``json`` part as a file if asked).

    The body is encoded here, not by the test client, so no spooled temporary file is
    left open when the server refuses it before reading it.
    """
    body = json.dumps({"ownername": "owner", "projectname": "proj", **fields})
    data: dict[str, Any] = {"pkgs": FileStorage(io.BytesIO(content), name)}
    data["json"] = (
        FileStorage(io.BytesIO(body.encode()), "json", content_type="application/json")
        if json_as_file
        else body
    )
    boundary, payload = encode_multipart(MultiDict(data))
    return client.post(
        "/api_3/build/create/upload",
        data=payload,
        headers=world.auth("owner"),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_upload(client: FlaskClient, world: World, settings: FrontendSettings) -> None:
    response = _upload(
        client,
        world,
        RPM,
        "../../evil name-1-1.src.rpm",
        json_as_file=True,
        chroots=["epel-9-x86_64"],
    )
    assert response.status_code == 200, response.get_json()
    build = world.factory.session.get(Build, response.get_json()["id"])
    assert build is not None
    assert build.source_type == BuildSourceEnum.upload
    name = build.source_json["pkg"]
    assert name == "evil_name-1-1.src.rpm"
    stored = settings.upload_dir.absolute() / build.source_json["tmp"] / name
    assert stored.read_bytes() == RPM
    assert build.source_json["url"] == f"http://copr.test/tmp/{build.source_json['tmp']}/{name}"
    served = client.get(f"/tmp/{build.source_json['tmp']}/{name}")
    assert served.status_code == 200
    assert served.data == RPM
    served.close()
    assert client.get("/tmp/not-a-token/x.src.rpm").status_code == 404
    assert client.get(f"/tmp/{build.source_json['tmp']}/../../etc/passwd").status_code == 404
    spec = _upload(client, world, b"Name: x\n", "x.spec")
    assert spec.status_code == 200


@pytest.mark.parametrize(
    ("content", "name", "code", "message"),
    [
        (b"hello", "notes.txt", 400, ".src.rpm or a .spec"),
        (b"hello", ".src.rpm", 400, ".src.rpm or a .spec"),
        (b"not an rpm", "x-1-1.src.rpm", 400, "not an RPM package"),
        (b"", "x.spec", 400, "empty"),
        (RPM + b"\0" * (1024 * 1024), "big-1-1.src.rpm", 413, "limit"),
        (RPM + b"\0" * (3 * 1024 * 1024), "huge-1-1.src.rpm", 413, "too large"),
    ],
)
def test_upload_errors(
    client: FlaskClient,
    world: World,
    settings: FrontendSettings,
    content: bytes,
    name: str,
    code: int,
    message: str,
) -> None:
    before = snapshot(world.factory.session)
    response = _upload(client, world, content, name)
    assert response.status_code == code
    assert message in response.get_json()["error"]
    _unchanged(world, before)
    upload_dir: Path = settings.upload_dir.absolute()
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_upload_needs_the_file_and_rights(
    client: FlaskClient, world: World, settings: FrontendSettings
) -> None:
    no_file = client.post(
        "/api_3/build/create/upload",
        headers=world.auth("owner"),
        data={"json": json.dumps({"ownername": "owner", "projectname": "proj"})},
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 400
    assert "'pkgs'" in no_file.get_json()["error"]
    stranger = client.post(
        "/api_3/build/create/upload",
        headers=world.auth("other"),
        data={
            "json": json.dumps({"ownername": "owner", "projectname": "proj"}),
            "pkgs": (io.BytesIO(RPM), "x-1-1.src.rpm"),
        },
        content_type="multipart/form-data",
    )
    assert stranger.status_code == 403
    upload_dir = settings.upload_dir.absolute()
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_cancel_and_delete(client: FlaskClient, world: World) -> None:
    headers = world.auth("owner")
    build_id = world.build.id
    pending = client.delete(f"/api_3/build/delete/{build_id}", headers=headers)
    assert pending.status_code == 409
    assert "cancel it" in pending.get_json()["error"]
    canceled = client.put(f"/api_3/build/cancel/{build_id}", headers=headers)
    assert canceled.status_code == 200
    assert canceled.get_json()["state"] == "canceled"
    again = client.post(f"/api_3/build/cancel/{build_id}", headers=headers)
    assert again.status_code == 409
    deleted = client.delete(f"/api_3/build/delete/{build_id}", headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json()["id"] == build_id
    assert client.get(f"/api_3/build/{build_id}").status_code == 404
    assert client.put("/api_3/build/cancel/987654", headers=headers).status_code == 404


def test_cancel_list(client: FlaskClient, world: World) -> None:
    factory = world.factory
    headers = world.auth("builder")
    queued = [world.build, factory.build(world.project, source_status=StatusEnum.running)]
    ids = [b.id for b in queued]
    ended = factory.build(world.project, source_status=StatusEnum.failed)
    elsewhere = factory.project(world.users["other"], "elsewhere")
    foreign = factory.build(elsewhere, user=world.users["other"])
    for body, code, message in (
        ({}, 400, "non-empty list"),
        ({"builds": []}, 400, "non-empty list"),
        ({"builds": "1"}, 400, "non-empty list"),
        ({"builds": [ids[0], "x"]}, 400, "integer"),
        ({"builds": [ids[0], True]}, 400, "integer"),
        ({"builds": [*ids, 999999]}, 404, "999999"),
        ({"builds": [*ids, ended.id]}, 409, f"{ended.id} (failed)"),
        # The builder of owner/proj may not build in other/elsewhere.
        ({"builds": [*ids, foreign.id]}, 403, "other/elsewhere"),
    ):
        before = snapshot(factory.session)
        response = client.put("/api_3/build/cancel/list", json=body, headers=headers)
        assert response.status_code == code, body
        assert message in response.get_json()["error"]
        _unchanged(world, before)
    anonymous = client.put("/api_3/build/cancel/list", json={"builds": ids})
    assert anonymous.status_code == 401
    before = snapshot(factory.session)
    stranger = client.put("/api_3/build/cancel/list", json={"builds": ids},
                          headers=world.auth("other"))  # fmt: skip
    assert stranger.status_code == 403
    _unchanged(world, before)

    response = client.post(
        "/api_3/build/cancel/list", json={"builds": [*ids, ids[0]]}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json() == {"builds": ids}
    session = factory.session
    session.expire_all()
    states = session.scalars(select(Build.state).where(Build.id.in_(ids))).all()
    assert set(states) == {StatusEnum.canceled}
    again = client.put("/api_3/build/cancel/list", json={"builds": ids}, headers=headers)
    assert again.status_code == 409


def test_cancel_pending(client: FlaskClient, world: World) -> None:
    factory = world.factory
    project = world.project
    importing = factory.build(project, source_status=StatusEnum.importing)
    waiting = factory.build(project, source_status=StatusEnum.succeeded,
                            chroot_status=StatusEnum.pending)  # fmt: skip
    running = factory.build(project, source_status=StatusEnum.running)
    in_chroots = factory.build(project, source_status=StatusEnum.succeeded,
                               chroot_status=StatusEnum.running)  # fmt: skip
    done = factory.build(project, source_status=StatusEnum.succeeded,
                         chroot_status=StatusEnum.succeeded)  # fmt: skip
    pr_dir = factory.build(project, dirname="proj:pr:3")
    path = "/api_3/project/cancel-pending/owner/proj"
    for role, code in (("anonymous", 401), ("other", 403), ("member", 403)):
        before = snapshot(factory.session)
        assert client.put(path, headers=world.auth(role)).status_code == code, role
        _unchanged(world, before)
    assert client.put("/api_3/project/cancel-pending/owner/nope",
                      headers=world.auth("owner")).status_code == 404  # fmt: skip
    response = client.put(path, headers=world.auth("builder"))
    assert response.status_code == 200
    expected = [world.build.id, importing.id, waiting.id, pr_dir.id]
    assert response.get_json() == {"builds": expected}
    session = factory.session
    session.expire_all()
    for build in (world.build, importing, waiting, pr_dir):
        assert build.state == StatusEnum.canceled
    assert running.state == StatusEnum.running
    assert in_chroots.state == StatusEnum.running
    assert done.state == StatusEnum.succeeded
    assert world.group_build.state == StatusEnum.pending
    # Nothing left to cancel is no error; the query form of the route works too.
    again = client.post("/api_3/project/cancel-pending?ownername=owner&projectname=proj",
                        headers=world.auth("padmin"))  # fmt: skip
    assert again.get_json() == {"builds": []}


def test_delete_list(client: FlaskClient, world: World) -> None:
    headers = world.auth("owner")
    done = [world.factory.build(world.project, source_status=StatusEnum.failed) for _ in range(2)]
    ids = [b.id for b in done]
    for body, code in (
        ({"builds": []}, 400),
        ({"builds": "1"}, 400),
        ({"builds": [*ids, 999999]}, 404),
        ({"builds": [*ids, world.build.id]}, 409),
    ):
        before = snapshot(world.factory.session)
        response = client.delete("/api_3/build/delete/list", json=body, headers=headers)
        assert response.status_code == code, body
        _unchanged(world, before)
    response = client.post("/api_3/build/delete/list", json={"builds": ids}, headers=headers)
    assert response.get_json() == {"builds": ids}
    session = world.factory.session
    session.expire_all()
    assert session.scalars(select(Build).where(Build.id.in_(ids))).all() == []
