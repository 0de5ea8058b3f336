"""A package's upstream URL (the spec's URL tag) and spec link: from the backend's reports
to API v3 and the web pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_frontend.builds.models import Build
from copr_frontend.packages.links import safe_link
from copr_frontend.packages.models import Package

from .conftest import World

PACKAGE_API = "/api_3/package?ownername=owner&projectname=proj&packagename=pkg"


def _report(client: FlaskClient, headers: dict[str, str], path: str, body: Any) -> None:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.data


def _source_success(
    client: FlaskClient, headers: dict[str, str], build: Build, url: str | None
) -> None:
    results = {"name": "pkg", "epoch": None, "version": "1.0", "release": "1", "url": url}
    body = {"builds": [{"id": build.id, "task_id": str(build.id), "status": 1, "results": results}]}
    _report(client, headers, "/backend/update/", body)


def _imported(client: FlaskClient, headers: dict[str, str], build: Build, commit: str) -> None:
    body = {"build_id": build.id, "branch_commits": {"f42": commit, "epel9": commit}}
    _report(client, headers, "/backend/import-completed/", body)


def _package(world: World) -> Package:
    world.factory.session.expire_all()
    package = world.factory.session.get(Package, world.package.id)
    assert package is not None
    return package


def test_a_successful_source_build_and_import_give_the_links(
    client: FlaskClient, world: World, backend_headers: dict[str, str]
) -> None:
    plain = client.get(PACKAGE_API).get_json()
    assert (plain["upstream_url"], plain["spec_url"]) == (None, None)

    build = world.factory.build(world.project, package=world.package)
    _source_success(client, backend_headers, build, "https://example.org/pkg")
    assert client.get(PACKAGE_API).get_json()["upstream_url"] == "https://example.org/pkg"
    _imported(client, backend_headers, build, "c" * 40)

    got = client.get(PACKAGE_API).get_json()
    spec = f"http://distgit.test/git/owner/proj/pkg.git/plain/pkg.spec?id={'c' * 40}"
    assert got["upstream_url"] == "https://example.org/pkg"
    assert got["spec_url"] == spec
    listed = client.get("/api_3/package/list?ownername=owner&projectname=proj").get_json()
    assert [(p["upstream_url"], p["spec_url"]) for p in listed["items"]] == [
        ("https://example.org/pkg", spec)
    ]

    page = client.get("/coprs/owner/proj/package/pkg/").get_data(as_text=True)
    assert 'href="https://example.org/pkg"' in page
    assert f'href="{spec}"' in page
    listing = client.get("/coprs/owner/proj/packages/").get_data(as_text=True)
    assert 'href="https://example.org/pkg"' in listing

    # A later spec without a URL tag clears it: the page shows what the spec says now.
    again = world.factory.build(world.project, package=world.package)
    _source_success(client, backend_headers, again, None)
    assert client.get(PACKAGE_API).get_json()["upstream_url"] is None


def test_builds_outside_the_main_dir_leave_the_package_alone(
    client: FlaskClient, world: World, backend_headers: dict[str, str]
) -> None:
    build = world.factory.build(world.project, package=world.package, dirname="proj:pr:7")
    _source_success(client, backend_headers, build, "https://fork.example.org/pkg")
    _imported(client, backend_headers, build, "d" * 40)
    package = _package(world)
    assert (package.upstream_url, package.spec_commit) == (None, None)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        'https://x.org/" onmouseover="alert(1)',
    ],
)
def test_an_upstream_url_that_is_not_http_is_not_a_link(
    client: FlaskClient, world: World, backend_headers: dict[str, str], url: str
) -> None:
    build = world.factory.build(world.project, package=world.package)
    _source_success(client, backend_headers, build, url)
    assert client.get(PACKAGE_API).get_json()["upstream_url"] == url
    for path in ("/coprs/owner/proj/package/pkg/", "/coprs/owner/proj/packages/"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page
        assert 'onmouseover="' not in page
        assert 'href="javascript' not in page.lower()
        assert 'href="data:' not in page
    if safe_link(url) is None:
        page = client.get("/coprs/owner/proj/package/pkg/").get_data(as_text=True)
        assert "Upstream</a>" not in page


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://example.org/x", "https://example.org/x"),
        (" http://example.org ", "http://example.org"),
        ("ftp://example.org/x", None),
        ("https:///nohost", None),
        ("example.org", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_link(url: str | None, link: str | None) -> None:
    assert safe_link(url) == link
