"""Every proxy method against the live frontend (real HTTP, real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copr.v3 import (
    Client,
    CoprAuthException,
    CoprNoResultException,
    CoprRequestException,
    CoprValidationException,
    List,
    Munch,
    all_pages,
    next_page,
    succeeded,
    unlimited,
    wait,
)

CHROOTS = ["fedora-42-x86_64", "epel-9-x86_64"]


@pytest.fixture
def client(config: dict[str, Any], factory: Any) -> Client:
    for name in CHROOTS:
        factory.mock_chroot(name)
    return Client(config)


@pytest.fixture
def project(client: Client) -> Any:
    return client.project_proxy.add("alice", "proj", CHROOTS, description="A project")


def test_project_add_get_edit(client: Client, project: Any) -> None:
    assert isinstance(project, Munch)
    assert project.full_name == "alice/proj"
    assert project.__proxy__ is client.project_proxy
    again = client.project_proxy.add("alice", "proj", CHROOTS, exist_ok=True)
    assert again.id == project.id
    with pytest.raises(CoprRequestException):
        client.project_proxy.add("alice", "proj", CHROOTS)
    got = client.project_proxy.get("alice", "proj")
    assert got.description == "A project"
    assert sorted(got.chroot_repos) == sorted(CHROOTS)
    edited = client.project_proxy.edit(
        "alice", "proj", description="Changed", additional_repos=["http://x/repo/"],
        keep_builds=4,
    )  # fmt: skip
    assert edited.description == "Changed"
    assert edited.keep_builds == 4
    assert client.project_proxy.edit("alice", "proj", keep_builds=0).keep_builds is None
    kept = client.project_proxy.add("alice", "kept", CHROOTS, keep_builds=2)
    assert kept.keep_builds == 2
    assert client.project_proxy.get("alice", "proj").additional_repos == ["http://x/repo/"]


def test_project_not_found(client: Client) -> None:
    with pytest.raises(CoprNoResultException):
        client.project_proxy.get("alice", "nothing")


def test_project_list_search_and_pages(client: Client) -> None:
    for index in range(5):
        client.project_proxy.add("alice", f"many{index}", CHROOTS)
    page = client.project_proxy.get_list("alice", pagination={"limit": 2, "order": "name"})
    assert isinstance(page, List)
    assert [p.name for p in page] == ["many0", "many1"]
    second = next_page(page)
    assert [p.name for p in second] == ["many2", "many3"]
    assert [p.name for p in all_pages(page)] == [f"many{i}" for i in range(5)]
    assert len(list(unlimited(page))) == 5
    assert next_page(next_page(second)) == []
    found = client.project_proxy.search("many3")
    assert "many3" in [p.name for p in found]


def test_pages_by_id_continue_by_keyset(client: Client) -> None:
    ids = [client.project_proxy.add("alice", f"key{index}", CHROOTS).id for index in range(5)]
    page = client.project_proxy.get_list("alice", pagination={"limit": 2, "order": "id"})
    assert page.meta.last_id == ids[1]
    second = next_page(page)
    assert "after_id=" + str(ids[1]) in second.__response__.request.url
    assert [p.id for p in second] == ids[2:4]
    assert second.meta.offset == 2
    last = next_page(second)
    assert [p.id for p in last] == ids[4:]
    assert "last_id" not in last.meta  # not a full page: nothing after it
    assert [p.id for p in all_pages(page)] == ids


def test_project_fork_regenerate_delete(client: Client, project: Any) -> None:
    fork = client.project_proxy.fork("alice", "proj", "alice", "proj-fork")
    assert fork.full_name == "alice/proj-fork"
    regenerated = client.project_proxy.regenerate_repos("alice", "proj")
    assert regenerated.full_name == "alice/proj"
    deleted = client.project_proxy.delete("alice", "proj-fork")
    assert deleted.name == "proj-fork"
    with pytest.raises(CoprNoResultException):
        client.project_proxy.get("alice", "proj-fork")


def test_permissions(client: Client, project: Any, factory: Any) -> None:
    factory.user("bob")
    client.permissions_proxy.set_permissions("alice", "proj", {"bob": {"builder": "approved"}})
    perms = client.project_proxy.get_permissions("alice", "proj")
    assert perms.permissions["bob"]["builder"] == "approved"
    assert client.project_proxy.can_build_in("bob", "alice", "proj") is True
    assert client.permissions_proxy.can_build_in("alice", "alice", "proj") is True


def test_request_permissions(
    client: Client, project: Any, factory: Any, config: dict[str, Any], live_server: Any
) -> None:
    bob = factory.user("bob")
    login, token = factory.token(bob)
    bob_client = Client({**config, "login": login, "token": token, "username": "bob"})
    bob_client.project_proxy.request_permissions("alice", "proj", {"builder": True})
    perms = client.permissions_proxy.get_permissions("alice", "proj")
    assert perms.permissions["bob"]["builder"] == "request"
    with pytest.raises(CoprAuthException):
        bob_client.project_proxy.delete("alice", "proj")


def test_project_chroot(client: Client, project: Any, tmp_path: Path) -> None:
    proxy = client.project_chroot_proxy
    chroot = proxy.get("alice", "proj", "fedora-42-x86_64")
    assert chroot.mock_chroot == "fedora-42-x86_64"
    comps = tmp_path / "comps.xml"
    comps.write_text("<comps></comps>\n")
    proxy.edit(
        "alice", "proj", "fedora-42-x86_64", additional_packages=["gcc"], comps=str(comps),
        with_opts=["tests"],
    )  # fmt: skip
    chroot = proxy.get("alice", "proj", "fedora-42-x86_64")
    assert chroot.additional_packages == ["gcc"]
    assert chroot.comps_name == "comps.xml"
    config = proxy.get_build_config("alice", "proj", "fedora-42-x86_64")
    assert config.chroot == "fedora-42-x86_64"
    with pytest.raises(CoprValidationException):
        proxy.edit("alice", "proj", "fedora-42-x86_64", comps=str(tmp_path / "missing.xml"))


def test_build_upload_with_progress(client: Client, project: Any, srpm: Path) -> None:
    reads: list[int] = []
    build = client.build_proxy.create_from_file(
        "alice", "proj", str(srpm),
        buildopts={"chroots": ["fedora-42-x86_64"], "progress_callback":
                   lambda monitor: reads.append(monitor.bytes_read)},
    )  # fmt: skip
    assert build.projectname == "proj"
    assert build.state in ("pending", "importing")
    assert reads
    assert reads[-1] >= srpm.stat().st_size
    got = client.build_proxy.get(build.id)
    assert got.id == build.id
    assert got.__proxy__ is client.build_proxy
    chroots = client.build_chroot_proxy.get_list(build.id)
    assert [c.name for c in chroots] == ["fedora-42-x86_64"]
    one = client.build_chroot_proxy.get(build.id, "fedora-42-x86_64")
    assert one.name == "fedora-42-x86_64"
    source = client.build_proxy.get_source_chroot(build.id)
    assert "state" in source
    assert client.build_proxy.get_source_build_config(build.id) is not None
    assert client.build_chroot_proxy.get_build_config(build.id, "fedora-42-x86_64") is not None
    assert client.build_proxy.get_built_packages(build.id) is not None
    assert client.build_chroot_proxy.get_built_packages(build.id, "fedora-42-x86_64") is not None


def test_build_upload_of_a_missing_file(client: Client, project: Any, tmp_path: Path) -> None:
    with pytest.raises(CoprValidationException, match="Cannot read"):
        client.build_proxy.create_from_file("alice", "proj", str(tmp_path / "none.src.rpm"))


def test_builds_from_every_source(client: Client, project: Any) -> None:
    proxy = client.build_proxy
    opts = {"chroots": ["fedora-42-x86_64"]}
    check = proxy.check_before_build("alice", "proj", buildopts=dict(opts))
    assert check is not None
    builds = [
        proxy.create_from_url("alice", "proj", "https://example.org/hello-1-1.src.rpm",
                              buildopts=opts),
        *proxy.create_from_urls("alice", "proj", ["https://example.org/a.spec",
                                                   "https://example.org/b.src.rpm"]),
        proxy.create_from_scm("alice", "proj", "https://example.org/repo.git", buildopts=opts),
        proxy.create_from_distgit("alice", "proj", "hello", committish="main"),
        proxy.create_from_pypi("alice", "proj", "requests", buildopts=opts),
        proxy.create_from_rubygems("alice", "proj", "rake"),
        proxy.create_from_custom("alice", "proj", "#! /bin/sh\necho hi\n"),
    ]  # fmt: skip
    ids = [build.id for build in builds]
    assert len(set(ids)) == len(ids)
    listed = proxy.get_list("alice", "proj")
    assert {b.id for b in listed} >= set(ids)
    with pytest.raises(CoprValidationException):
        proxy.create_from_url("alice", "proj", "https://a https://b")


def test_cancel_delete_and_wait(client: Client, project: Any) -> None:
    proxy = client.build_proxy
    build = proxy.create_from_url("alice", "proj", "https://example.org/hello-1-1.src.rpm")
    canceled = proxy.cancel(build.id)
    assert canceled.state == "canceled"
    seen: list[list[Any]] = []
    final = wait(build, interval=0.1, callback=seen.append)
    assert final[0].state == "canceled"
    assert seen
    assert not succeeded(final)
    proxy.delete(build.id)
    with pytest.raises(CoprNoResultException):
        proxy.get(build.id)
    others = [proxy.create_from_url("alice", "proj", "https://example.org/x.src.rpm") for _ in "ab"]
    with pytest.raises(CoprRequestException, match="still pending"):
        proxy.delete_list([b.id for b in others])
    for other in others:
        proxy.cancel(other.id)
    result = proxy.delete_list([b.id for b in others])
    assert sorted(result.builds) == sorted(b.id for b in others)


def test_cancel_list_and_cancel_pending(client: Client, project: Any) -> None:
    proxy = client.build_proxy
    url = "https://example.org/hello-1-1.src.rpm"
    builds = [proxy.create_from_url("alice", "proj", url).id for _ in range(3)]
    assert proxy.cancel_list(builds[:2]).builds == builds[:2]
    with pytest.raises(CoprRequestException, match="already ended"):
        proxy.cancel_list(builds[1:])
    assert proxy.get(builds[2]).state == "pending"
    assert client.project_proxy.cancel_pending("alice", "proj").builds == builds[2:]
    assert proxy.get(builds[2]).state == "canceled"
    assert client.project_proxy.cancel_pending("alice", "proj").builds == []
    with pytest.raises(CoprNoResultException):
        client.project_proxy.cancel_pending("alice", "nope")


def test_get_and_cancel_a_wave(client: Client, project: Any, factory: Any) -> None:
    from copr_frontend.builds.models import Build, RebuildWave
    from copr_frontend.projects.models import Project

    proxy = client.build_proxy
    url = "https://example.org/hello-1-1.src.rpm"
    trigger = proxy.create_from_url("alice", "proj", url)
    rebuild = proxy.create_from_url("alice", "proj", url)
    session = factory.session
    wave = RebuildWave(project=session.get(Project, project.id), trigger_build_id=trigger.id,
                       cycles=[["alice/proj/a", "alice/proj/b"]])  # fmt: skip
    session.add(wave)
    build = session.get(Build, rebuild.id)
    build.rebuild_wave, build.triggered_by_id = wave, trigger.id
    session.commit()
    got = proxy.get_wave(wave.id)
    assert got.project == "alice/proj"
    assert got.trigger_build_id == trigger.id
    assert got.builds == [rebuild.id]
    assert got.cycles == [["alice/proj/a", "alice/proj/b"]]
    assert proxy.get(rebuild.id).triggered_by.wave_id == wave.id
    assert proxy.cancel_wave(wave.id).builds == [rebuild.id]
    assert proxy.get(rebuild.id).state == "canceled"
    assert proxy.get(trigger.id).state == "pending"
    with pytest.raises(CoprNoResultException):
        proxy.get_wave(999999)


def test_packages(client: Client, project: Any) -> None:
    proxy = client.package_proxy
    source = {"clone_url": "https://example.org/hello.git", "committish": "", "subdirectory": "",
              "spec": "", "scm_type": "git", "source_build_method": "rpkg"}  # fmt: skip
    proxy.add("alice", "proj", "hello", "scm", source)
    package = proxy.get("alice", "proj", "hello", with_latest_build=True)
    assert package.name == "hello"
    assert package.source_type == "scm"
    assert "builds" in package
    proxy.edit("alice", "proj", "hello", "scm", {**source, "committish": "main"})
    assert proxy.get("alice", "proj", "hello").source_dict["committish"] == "main"
    assert [p.name for p in proxy.get_list("alice", "proj")] == ["hello"]
    build = proxy.build("alice", "proj", "hello", buildopts={"chroots": ["epel-9-x86_64"]})
    assert build.__proxy__ is not None
    assert client.build_proxy.get(build.id).source_package["name"] == "hello"
    client.build_proxy.cancel(build.id)
    proxy.reset("alice", "proj", "hello")
    assert proxy.get("alice", "proj", "hello").source_type == "unset"
    proxy.delete("alice", "proj", "hello")
    with pytest.raises(CoprNoResultException):
        proxy.get("alice", "proj", "hello")


def test_mock_chroots_monitor_webhook_token(client: Client, project: Any) -> None:
    chroots = client.mock_chroot_proxy.get_list()
    assert set(CHROOTS) <= set(chroots)
    client.build_proxy.create_from_url("alice", "proj", "https://example.org/hello-1-1.src.rpm")
    monitor = client.monitor_proxy.monitor("alice", "proj")
    assert "packages" in monitor
    secret = client.webhook_proxy.generate("alice", "proj")
    assert secret.webhook_secret
    token = client.base_proxy.new_api_token()
    assert token.api_login
    assert token.api_token
