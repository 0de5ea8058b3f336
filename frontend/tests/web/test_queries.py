"""A page gets its rows in a fixed number of queries: ten times the rows, the same count."""

from __future__ import annotations

import flask

from copr_common.enums import StatusEnum
from copr_frontend.testing import Factory, counting_queries

from .conftest import log_in


def _fill(factory: Factory, project, packages: int, builds_per_package: int) -> None:  # type: ignore[no-untyped-def]
    for index in range(packages):
        package = factory.package(project, f"pkg{index}")
        for _ in range(builds_per_package):
            factory.build(project, package=package, source_status=StatusEnum.succeeded,
                          chroot_status=StatusEnum.succeeded)  # fmt: skip


def _queries(app: flask.Flask, client, path: str) -> int:  # type: ignore[no-untyped-def]
    with counting_queries(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(statements)


def test_pages_run_as_many_queries_for_many_rows_as_for_few(app, client, factory: Factory) -> None:
    owner = factory.user("owner")
    small = factory.project(owner, "small", chroots=("fedora-42-x86_64", "fedora-43-x86_64"))
    large = factory.project(owner, "large", chroots=("fedora-42-x86_64", "fedora-43-x86_64"))
    _fill(factory, small, packages=1, builds_per_package=2)
    _fill(factory, large, packages=6, builds_per_package=5)
    log_in(client, owner)
    for page in ("", "builds/", "packages/", "monitor/", "package/pkg0/"):
        few = _queries(app, client, f"/coprs/owner/small/{page}")
        many = _queries(app, client, f"/coprs/owner/large/{page}")
        assert few == many, (page, few, many)
    # The API's monitor shares the page's query.
    few = _queries(app, client, "/api_3/monitor?ownername=owner&projectname=small")
    many = _queries(app, client, "/api_3/monitor?ownername=owner&projectname=large")
    assert few == many, ("monitor API", few, many)
    for path in ("/", "/coprs/", "/coprs/owner/", "/status/pending/", "/status/stats/"):
        assert _queries(app, client, path) < 20, path
