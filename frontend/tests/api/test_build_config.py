"""One build config, three answers: API v3 ``project-chroot/build-config``,
``build-chroot/build-config`` and the builder's task (``/backend/get-build-task/``).
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from copr_frontend.projects.build_config import repo_id
from copr_frontend.projects.logic import project_chroot

from .conftest import World

CHROOT = "fedora-42-x86_64"
RESULTS = "http://results.test/results"


def _get(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.data
    return response.get_json()


def test_repo_id_is_coprs_rule() -> None:
    assert repo_id("copr://other/dep") == "copr_other_dep"
    assert repo_id("https://example.org//r/$distname/?priority=5") == (
        "https_example_org_r_distname_priority_5"
    )
    assert repo_id("__x__") == "x"


def test_the_endpoints_agree(client: FlaskClient, world: World) -> None:
    factory = world.factory
    dependency = factory.project(factory.user("other2"), "dep", chroots=(CHROOT,))
    dependency.module_hotfixes = True
    project = world.project
    project.additional_repos = ["https://example.org/r/$distname/?priority=5", "copr://other2/dep"]
    project.devel_mode = True
    project.repo_priority = 20
    copr_chroot = project_chroot(project, CHROOT)
    assert copr_chroot is not None
    copr_chroot.repos = ["copr://other2/dep/devel", "http://example.net/$chroot/"]
    copr_chroot.buildroot_pkgs = ["make"]
    copr_chroot.module_toggle = ["enable nodejs:20"]
    copr_chroot.with_opts = ["tests"]
    copr_chroot.isolation = "simple"
    copr_chroot.bootstrap = "image"
    copr_chroot.bootstrap_image = "fedora:42"
    factory.session.commit()
    build = factory.build(project, chroots=(CHROOT,), dirname="proj:pr:7", bootstrap="off")

    query = f"ownername=owner&projectname=proj&chrootname={CHROOT}"
    project_config = _get(client, f"/api_3/project-chroot/build-config?{query}")
    build_config = _get(
        client, f"/api_3/build-chroot/build-config?build_id={build.id}&chrootname={CHROOT}"
    )
    task = _get(client, f"/backend/get-build-task/{build.id}-{CHROOT}/")

    own = f"{RESULTS}/owner/proj/{CHROOT}/"
    additional = [
        {"id": "https_example_org_r_distname_priority_5", "priority": 5,
         "baseurl": "https://example.org/r/fedora/",
         "name": "Additional repo https_example_org_r_distname_priority_5"},
        {"id": "copr_other2_dep", "baseurl": f"{RESULTS}/other2/dep/{CHROOT}/",
         "name": "Additional repo copr_other2_dep", "module_hotfixes": True},
        {"id": "copr_other2_dep_devel", "baseurl": f"{RESULTS}/other2/dep/{CHROOT}/devel/",
         "name": "Additional repo copr_other2_dep_devel", "module_hotfixes": True},
        {"id": "http_example_net_chroot", "baseurl": f"http://example.net/{CHROOT}/",
         "name": "Additional repo http_example_net_chroot"},
    ]  # fmt: skip
    base = [
        {"id": "copr_base", "baseurl": own, "name": "Copr repository", "priority": 20},
        {"id": "copr_base_devel", "baseurl": f"{own}devel/", "name": "Copr buildroot",
         "priority": 20},
    ]  # fmt: skip
    coprdir = {"id": "copr_coprdir", "baseurl": f"{RESULTS}/owner/proj:pr:7/{CHROOT}/",
               "name": "Coprdir repository", "priority": 20}  # fmt: skip
    assert project_config["repos"] == [*base, *additional]
    assert build_config["repos"] == task["repos"] == [*base, coprdir, *additional]
    assert project_config["additional_repos"] == build_config["additional_repos"] == additional

    for config in (project_config, build_config):
        assert config["additional_packages"] == task["buildroot_pkgs"] == ["make"]
        assert config["with_opts"] == task["with_opts"] == ["tests"]
        assert config["without_opts"] == task["without_opts"] == []
        assert config["isolation"] == task["isolation"] == "simple"
    assert project_config["additional_modules"] == task["modules"]["toggle"]
    assert project_config["bootstrap"] == "image"
    assert project_config["bootstrap_image"] == "fedora:42"
    # The build asked for no bootstrap: both of its answers say so, with no image.
    assert build_config["bootstrap"] == task["bootstrap"] == "off"
    assert "bootstrap_image" not in build_config
    assert "bootstrap_image" not in task
    assert build_config["timeout"] == task["timeout"]
    assert build_config["memory_limit"] == task["memory_reqs"]
    assert build_config["enable_net"] == task["enable_net"]
