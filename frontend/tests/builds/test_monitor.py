"""The monitor query (``builds.logic.latest_chroot_builds``) the monitor page and API v3
``/monitor`` share: the latest task per package x active chroot of the project."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from copr_common.enums import StatusEnum
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.testing import Factory

CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64", "epel-9-x86_64")


def api_monitor(client: FlaskClient, dirname: str | None = None) -> dict[str, dict[str, Any]]:
    query = "ownername=owner&projectname=mon" + (f"&project_dirname={dirname}" if dirname else "")
    response = client.get(f"/api_3/monitor?{query}")
    assert response.status_code == 200, response.get_json()
    return {p["name"]: p["chroots"] for p in response.get_json()["packages"]}


def test_latest_task_per_package_and_active_chroot(client: FlaskClient, factory: Factory) -> None:
    project = factory.project(factory.user("owner"), "mon", chroots=CHROOTS)
    hello, world, never = (factory.package(project, n) for n in ("hello", "world", "never"))
    done = {"source_status": StatusEnum.succeeded}
    old = factory.build(project, package=hello, chroot_status=StatusEnum.failed, **done)
    new = factory.build(project, package=hello, chroots=["fedora-42-x86_64"],
                        chroot_status=StatusEnum.succeeded, **done)  # fmt: skip
    # A build in another dir of the project is not in the main dir's monitor.
    pull = factory.build(project, package=world, dirname="mon:pr:7",
                         chroot_status=StatusEnum.succeeded, **done)  # fmt: skip
    # epel-9 leaves the project: Copr's monitor shows the project's active chroots only.
    chroot = next(c for c in project.chroots if c.name == "epel-9-x86_64")
    factory.session.get(ProjectChroot, chroot.id).deleted = True  # type: ignore[union-attr]
    factory.session.commit()

    main = api_monitor(client)
    assert list(main) == ["hello"]  # no build of world here, none at all of never
    assert main["hello"] == {
        "fedora-42-x86_64": {"build_id": new.id, "state": "succeeded", "status": 1,
                             "pkg_version": None},
        "fedora-43-x86_64": {"build_id": old.id, "state": "failed", "status": 0,
                             "pkg_version": None},
    }  # fmt: skip
    assert api_monitor(client, "mon:pr:7") == {
        "world": {
            name: {"build_id": pull.id, "state": "succeeded", "status": 1, "pkg_version": None}
            for name in ("fedora-42-x86_64", "fedora-43-x86_64")
        }
    }
    assert never.name not in api_monitor(client, "mon:pr:7")

    # The page shows the same cells.
    page = client.get("/coprs/owner/mon/monitor/").get_data(as_text=True)
    assert f"/coprs/owner/mon/build/{new.id}/" in page
    assert f"/coprs/owner/mon/build/{old.id}/" in page
    assert "epel-9-x86_64" not in page
    assert f"/build/{pull.id}/" not in page
    pr_page = client.get("/coprs/owner/mon/monitor/?dirname=mon:pr:7").get_data(as_text=True)
    assert f"/coprs/owner/mon/build/{pull.id}/" in pr_page


def test_empty_project(client: FlaskClient, factory: Factory) -> None:
    factory.project(factory.user("owner"), "mon", chroots=CHROOTS)
    assert api_monitor(client) == {}
    page = client.get("/coprs/owner/mon/monitor/")
    assert page.status_code == 200
