"""The backend API driven over HTTP as the backend and dist-git call it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.testing import Factory

CHROOTS = ("fedora-42-x86_64", "fedora-42-aarch64", "epel-9-x86_64")


def post(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.data
    assert response.headers["Copr-FE-BE-API-Version"] == "6"
    return response.get_json()


def get(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.data
    return response.get_json()


def fresh(factory: Factory, build_id: int) -> Build:
    factory.session.expire_all()
    build = factory.session.get(Build, build_id)
    assert build is not None
    return build


def chroot_states(build: Build) -> dict[str, StatusEnum]:
    return {c.name: c.status for c in build.chroots}


@pytest.fixture
def project(factory: Factory):  # type: ignore[no-untyped-def]
    owner = factory.user("alice")
    return factory.project(owner, "hello", chroots=CHROOTS)


def test_a_build_from_submission_to_success(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project)
    bid = build.id
    assert build.state == StatusEnum.pending

    jobs = get(client, "/backend/pending-jobs/")
    assert [j["task_id"] for j in jobs] == [str(bid)]
    assert jobs[0]["project_owner"] == "alice"
    assert jobs[0]["sandbox"] == "alice/hello--alice"

    task = get(client, f"/backend/get-srpm-build-task/{bid}")
    assert task["source_type"] == 1
    assert json.loads(task["source_json"]) == {"url": "https://example.org/hello-1-1.src.rpm"}
    assert task["project_dirname"] == "hello"
    assert task["submitter"] == "alice"

    assert post(client, "/backend/starting_build/", {"build_id": bid, "chroot": "srpm-builds"},
                backend_headers) == {"can_start": True}  # fmt: skip
    assert fresh(factory, bid).state == StatusEnum.starting
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 3, "started_on": 1000}]},
         backend_headers)  # fmt: skip
    assert fresh(factory, bid).state == StatusEnum.running

    result = post(
        client,
        "/backend/update/",
        {"builds": [{
            "id": bid, "task_id": str(bid), "status": 1, "ended_on": 1100,
            "srpm_url": "http://results.test/results/alice/hello/srpm-builds/x/hello.src.rpm",
            "results": {"name": "hello", "epoch": None, "version": "1.0", "release": "1",
                        "excludearch": ["aarch64"], "exclusivearch": []},
        }]},
        backend_headers,
    )  # fmt: skip
    assert result == {"updated_builds_ids": [bid], "non_existing_builds_ids": []}
    build = fresh(factory, bid)
    assert build.source_status == StatusEnum.importing
    assert build.state == StatusEnum.importing
    assert build.pkg_version == "1.0-1"
    assert build.package is not None
    assert build.package.name == "hello"
    assert chroot_states(build) == {
        "fedora-42-x86_64": StatusEnum.waiting,
        "fedora-42-aarch64": StatusEnum.skipped,
        "epel-9-x86_64": StatusEnum.waiting,
    }
    assert get(client, "/backend/pending-jobs/") == []

    queue = get(client, "/backend/importing/")
    assert queue == [{
        "build_id": bid, "owner": "alice", "project": "hello", "branches": ["epel9", "f42"],
        "pkg_name": "hello", "srpm_url": build.srpm_url, "sandbox": "alice/hello--alice",
        "background": False,
    }]  # fmt: skip

    done = post(client, "/backend/import-completed/",
                {"build_id": bid, "branch_commits": {"f42": "a" * 40, "epel9": "b" * 40}},
                backend_headers)  # fmt: skip
    assert done == {"updated": True}
    build = fresh(factory, bid)
    assert build.source_status == StatusEnum.succeeded
    assert build.state == StatusEnum.pending
    assert {c.name: c.git_hash for c in build.chroots if c.git_hash} == {
        "fedora-42-x86_64": "a" * 40,
        "epel-9-x86_64": "b" * 40,
    }
    assert get(client, "/backend/importing/") == []

    jobs = get(client, "/backend/pending-jobs/")
    assert sorted(j["task_id"] for j in jobs) == [f"{bid}-epel-9-x86_64", f"{bid}-fedora-42-x86_64"]
    task = get(client, f"/backend/get-build-task/{bid}-fedora-42-x86_64/")
    for field in ("task_id", "build_id", "chroot", "project_owner", "project_name",
                  "project_dirname", "submitter", "sandbox", "background", "tags", "timeout",
                  "memory_reqs", "enable_net", "git_repo", "git_hash", "package_name",
                  "package_version", "repos", "buildroot_pkgs", "with_opts", "without_opts",
                  "isolation", "bootstrap"):  # fmt: skip
        assert field in task, field
    assert task["git_repo"] == "http://distgit.test/git/alice/hello/hello.git"
    assert task["git_hash"] == "a" * 40
    assert task["repos"][0] == {
        "id": "copr_base",
        "baseurl": "http://results.test/results/alice/hello/fedora-42-x86_64/",
        "name": "Copr repository",
    }

    for chroot in ("fedora-42-x86_64", "epel-9-x86_64"):
        assert post(client, "/backend/starting_build/", {"build_id": bid, "chroot": chroot},
                    backend_headers)["can_start"]  # fmt: skip
        post(
            client,
            "/backend/update/",
            {"builds": [{"id": bid, "chroot": chroot, "status": 3}]},
            backend_headers,
        )
    assert fresh(factory, bid).state == StatusEnum.running
    packages = {"packages": [{"name": "hello", "epoch": 0, "version": "1.0", "release": "1",
                              "arch": "x86_64"}]}  # fmt: skip
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "chroot": "fedora-42-x86_64", "status": 1, "ended_on": 1200,
                      "result_dir": "00000001-hello", "results": packages}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.state == StatusEnum.running
    assert build.ended_on is None
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "chroot": "epel-9-x86_64", "status": 0, "ended_on": 1300}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.state == StatusEnum.failed
    assert build.ended_on == 1300
    assert build.chroot("fedora-42-x86_64").results == packages  # type: ignore[union-attr]
    assert build.chroot("fedora-42-x86_64").result_dir == "00000001-hello"  # type: ignore[union-attr]
    assert get(client, "/backend/pending-jobs/") == []
    # The package reused for later builds was created once.
    assert factory.session.query(Package).filter_by(project_id=project.id).count() == 1


def test_repeated_and_out_of_order_reports_change_nothing(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project, chroots=["fedora-42-x86_64"])
    bid = build.id
    source_ok = {"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "hello"}
    post(client, "/backend/update/", {"builds": [source_ok]}, backend_headers)
    post(client, "/backend/update/", {"builds": [source_ok]}, backend_headers)
    # A "running" that arrives after "succeeded" does not move the source back.
    post(
        client,
        "/backend/update/",
        {"builds": [{"id": bid, "task_id": str(bid), "status": 3}]},
        backend_headers,
    )
    assert fresh(factory, bid).source_status == StatusEnum.importing

    commits = {"build_id": bid, "branch_commits": {"f42": "c" * 40}}
    assert post(client, "/backend/import-completed/", commits, backend_headers)["updated"]
    assert not post(client, "/backend/import-completed/", commits, backend_headers)["updated"]
    # A late repeat of the source success must not reset imported chroots to waiting.
    post(client, "/backend/update/", {"builds": [source_ok]}, backend_headers)
    build = fresh(factory, bid)
    assert chroot_states(build) == {"fedora-42-x86_64": StatusEnum.pending}
    assert build.chroots[0].git_hash == "c" * 40

    chroot = {"id": bid, "chroot": "fedora-42-x86_64"}
    post(client, "/backend/update/", {"builds": [{**chroot, "status": 1, "ended_on": 50}]},
         backend_headers)  # fmt: skip
    # Late "running" and "starting", and a repeated "succeeded", are ignored.
    for status in (3, 6, 1, 0):
        post(client, "/backend/update/", {"builds": [{**chroot, "status": status}]},
             backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.state == StatusEnum.succeeded
    assert build.chroots[0].ended_on == 50


def test_failed_source_build_fails_every_chroot(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 0, "ended_on": 77}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.state == StatusEnum.failed
    assert set(chroot_states(build).values()) == {StatusEnum.failed}
    assert build.ended_on == 77


def test_failed_import_fails_the_build(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project, chroots=["fedora-42-x86_64"]).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x"}]},
         backend_headers)  # fmt: skip
    post(client, "/backend/import-completed/", {"build_id": bid, "branch_commits": {}},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.source_status == StatusEnum.failed
    assert build.state == StatusEnum.failed


def test_exclusivearch_skips_other_arches(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x",
                      "results": {"name": "x", "version": "1", "release": "1",
                                  "exclusivearch": ["aarch64"]}}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert chroot_states(build) == {
        "fedora-42-x86_64": StatusEnum.skipped,
        "fedora-42-aarch64": StatusEnum.waiting,
        "epel-9-x86_64": StatusEnum.skipped,
    }


def test_unknown_build_ids_are_reported(client, backend_headers) -> None:  # type: ignore[no-untyped-def]
    result = post(client, "/backend/update/", {"builds": [{"id": 999, "status": 1}]},
                  backend_headers)  # fmt: skip
    assert result == {"updated_builds_ids": [], "non_existing_builds_ids": [999]}
    assert post(client, "/backend/starting_build/", {"build_id": 999}, backend_headers) == {
        "can_start": False
    }
    assert post(client, "/backend/import-completed/", {"build_id": 999}, backend_headers) == {
        "updated": False
    }
    assert client.get("/backend/get-build-task/999-fedora-42-x86_64").status_code == 404
    assert client.get("/backend/get-srpm-build-task/999/").status_code == 404
    response = client.get("/backend/get-build-task/nonsense/")
    assert response.status_code == 400
    assert "task id" in response.get_json()["error"]


def test_import_error_reaches_the_build(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project, chroots=["fedora-42-x86_64"]).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x"}]},
         backend_headers)  # fmt: skip
    error = "the SRPM is a binary RPM, not a source RPM"
    post(client, "/backend/import-completed/",
         {"build_id": bid, "branch_commits": {}, "error": error}, backend_headers)  # fmt: skip
    assert fresh(factory, bid).fail_reason == error
    shown = get(client, f"/api_3/build/{bid}")
    assert (shown["state"], shown["fail_reason"]) == ("failed", error)


def test_import_failure_without_a_message_still_says_why(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project, chroots=["fedora-42-x86_64"]).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x"}]},
         backend_headers)  # fmt: skip
    post(client, "/backend/import-completed/", {"build_id": bid, "branch_commits": {}},
         backend_headers)  # fmt: skip
    assert "none of its branches" in get(client, f"/api_3/build/{bid}")["fail_reason"]


def test_backend_failure_reasons_are_kept_and_bounded(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    source_failed = factory.build(project).id
    post(client, "/backend/update/",
         {"builds": [{"id": source_failed, "task_id": str(source_failed), "status": 0,
                      "fail_reason": "x" * 10_000}]}, backend_headers)  # fmt: skip
    assert get(client, f"/api_3/build/{source_failed}")["fail_reason"] == "x" * 4000

    bid = factory.build(project, chroots=["fedora-42-x86_64", "epel-9-x86_64"]).id
    post(client, "/backend/update/",
         {"builds": [{"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x"}]},
         backend_headers)  # fmt: skip
    post(client, "/backend/import-completed/",
         {"build_id": bid, "branch_commits": {"f42": "a" * 40, "epel9": "b" * 40}},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.fail_reason is None
    branches = {c.name: c.mock_chroot.distgit_branch for c in build.chroots}
    assert all(c.status == StatusEnum.pending for c in build.chroots), branches
    post(client, "/backend/update/",
         {"builds": [
             {"id": bid, "task_id": f"{bid}-fedora-42-x86_64", "chroot": "fedora-42-x86_64",
              "status": 0, "fail_reason": "ran longer than its timeout of 3 s"},
             {"id": bid, "task_id": f"{bid}-epel-9-x86_64", "chroot": "epel-9-x86_64",
              "status": 1, "fail_reason": "ignored on success"},
         ]}, backend_headers)  # fmt: skip
    failed = get(client, f"/api_3/build-chroot/{bid}/fedora-42-x86_64")
    assert (failed["state"], failed["fail_reason"]) == (
        "failed",
        "ran longer than its timeout of 3 s",
    )
    assert get(client, f"/api_3/build-chroot/{bid}/epel-9-x86_64")["fail_reason"] is None


def test_a_late_success_wins_over_a_false_failure(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    # A worker that lost track of a build reported it failed; the worker that really ran
    # it reports success later: the build did succeed.
    bid = factory.build(project, chroots=["fedora-42-x86_64"]).id
    source = {"id": bid, "task_id": str(bid)}
    post(client, "/backend/update/",
         {"builds": [{**source, "status": 0, "fail_reason": "the build did not start"}]},
         backend_headers)  # fmt: skip
    assert fresh(factory, bid).state == StatusEnum.failed
    post(client, "/backend/update/", {"builds": [{**source, "status": 1, "pkg_name": "hello"}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.source_status == StatusEnum.importing
    assert build.fail_reason is None
    assert chroot_states(build) == {"fedora-42-x86_64": StatusEnum.waiting}

    commits = {"build_id": bid, "branch_commits": {"f42": "d" * 40}}
    assert post(client, "/backend/import-completed/", commits, backend_headers)["updated"]
    chroot = {"id": bid, "chroot": "fedora-42-x86_64"}
    post(client, "/backend/update/",
         {"builds": [{**chroot, "status": 0, "fail_reason": "lost", "ended_on": 10}]},
         backend_headers)  # fmt: skip
    assert fresh(factory, bid).state == StatusEnum.failed
    post(client, "/backend/update/", {"builds": [{**chroot, "status": 1, "ended_on": 20}]},
         backend_headers)  # fmt: skip
    build = fresh(factory, bid)
    assert build.state == StatusEnum.succeeded
    assert (build.chroots[0].fail_reason, build.chroots[0].ended_on, build.ended_on) == (
        None, 20, 20
    )  # fmt: skip
    # Once succeeded, it stays so.
    post(client, "/backend/update/", {"builds": [{**chroot, "status": 0}]}, backend_headers)
    assert fresh(factory, bid).state == StatusEnum.succeeded


def test_an_import_failure_is_not_undone_by_a_repeated_source_success(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project, chroots=["fedora-42-x86_64"]).id
    source_ok = {"id": bid, "task_id": str(bid), "status": 1, "pkg_name": "x"}
    post(client, "/backend/update/", {"builds": [source_ok]}, backend_headers)
    post(client, "/backend/import-completed/", {"build_id": bid, "branch_commits": {}},
         backend_headers)  # fmt: skip
    post(client, "/backend/update/", {"builds": [source_ok]}, backend_headers)
    build = fresh(factory, bid)
    assert (build.source_status, build.state) == (StatusEnum.failed, StatusEnum.failed)


def test_the_buildroot_is_kept_on_the_build_chroot(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    bid = factory.build(project, chroots=["fedora-42-x86_64"],
                        source_status=StatusEnum.succeeded).id  # fmt: skip
    fresh(factory, bid).chroots[0].status = StatusEnum.pending
    factory.session.commit()
    chroot = get(client, f"/api_3/build-chroot/{bid}/fedora-42-x86_64")
    assert (chroot["buildroot"], chroot["buildrequires_not_installed"]) == (None, None)

    task_id = f"{bid}-fedora-42-x86_64"
    base = {"id": bid, "task_id": task_id, "chroot": "fedora-42-x86_64", "status": 1}
    for bad, message in [
        ({"buildroot": "chroot"}, "'buildroot' must be one of mock, host"),
        ({"buildrequires_not_installed": "gcc"}, "must be a list"),
        ({"buildrequires_not_installed": ["gcc", 1]}, "must be a list"),
        ({"buildrequires_not_installed": ["x" * 501]}, "must be a list"),
    ]:
        response = client.post("/backend/update/", json={"builds": [{**base, **bad}]},
                               headers=backend_headers)  # fmt: skip
        assert response.status_code == 400, bad
        assert message in response.get_json()["error"]
        assert fresh(factory, bid).chroots[0].status == StatusEnum.pending

    post(client, "/backend/update/",
         {"builds": [{**base, "buildroot": "host",
                      "buildrequires_not_installed": ["gcc", "make"]}]},
         backend_headers)  # fmt: skip
    chroot = get(client, f"/api_3/build-chroot/{bid}/fedora-42-x86_64")
    assert chroot["state"] == "succeeded"
    assert chroot["buildroot"] == "host"
    assert chroot["buildrequires_not_installed"] == ["gcc", "make"]
    listed = get(client, f"/api_3/build-chroot/list/{bid}")["items"]
    assert listed[0]["buildroot"] == "host"


def test_a_project_may_require_a_real_buildroot(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    factory.mock_chroot("fedora-42-x86_64")
    auth = factory.auth(alice)
    body = {"name": "strict", "chroots": ["fedora-42-x86_64"], "require_real_buildroot": True}
    created = client.post("/api_3/project/add/alice", json=body, headers=auth)
    assert created.status_code == 200, created.get_json()
    assert created.get_json()["require_real_buildroot"] is True
    bad = client.post("/api_3/project/edit/alice/strict", headers=auth,
                      json={"require_real_buildroot": "sometimes"})  # fmt: skip
    assert bad.status_code == 400
    assert "require_real_buildroot" in bad.get_json()["error"]

    project = factory.session.get(Project, created.get_json()["id"])
    assert project is not None
    build = factory.build(project, source_status=StatusEnum.succeeded)
    build.chroots[0].status = StatusEnum.pending
    factory.session.commit()
    task = get(client, f"/backend/get-build-task/{build.id}-fedora-42-x86_64")
    assert task["require_real_buildroot"] is True

    client.post("/api_3/project/edit/alice/strict", headers=auth,
                json={"require_real_buildroot": False})  # fmt: skip
    task = get(client, f"/backend/get-build-task/{build.id}-fedora-42-x86_64")
    assert task["require_real_buildroot"] is False


def test_rpmlint_findings_reach_the_api_and_a_project_may_fail_on_them(
    client, factory, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    factory.mock_chroot("fedora-42-x86_64")
    auth = factory.auth(alice)
    body = {"name": "linted", "chroots": ["fedora-42-x86_64"], "rpmlint_fail_on_errors": True}
    created = client.post("/api_3/project/add/alice", json=body, headers=auth)
    assert created.status_code == 200, created.get_json()
    assert created.get_json()["rpmlint_fail_on_errors"] is True
    bad = client.post("/api_3/project/edit/alice/linted", headers=auth,
                      json={"rpmlint_fail_on_errors": "maybe"})  # fmt: skip
    assert bad.status_code == 400
    assert "rpmlint_fail_on_errors" in bad.get_json()["error"]

    project = factory.session.get(Project, created.get_json()["id"])
    assert project is not None
    build = factory.build(project, package=factory.package(project, "linted"),
                          source_status=StatusEnum.succeeded)  # fmt: skip
    build.chroots[0].status = StatusEnum.pending
    factory.session.commit()
    task_id = f"{build.id}-fedora-42-x86_64"
    assert get(client, f"/backend/get-build-task/{task_id}")["rpmlint_fail_on_errors"] is True
    chroot_url = f"/api_3/build-chroot/{build.id}/fedora-42-x86_64"
    assert get(client, chroot_url)["rpmlint"] is None

    finding = {"package": "linted.noarch", "level": "E", "check": "no-changelogname-tag",
               "detail": ""}  # fmt: skip
    lint = {
        "ran": True, "errors": 1, "warnings": 0,
        # What the builder wrote is checked: a finding of another shape is left out.
        "findings": [finding, {"package": 1}, {**finding, "level": "X"}, "junk"],
    }  # fmt: skip
    results = {"packages": [], "rpmlint": lint}
    update = {"id": build.id, "task_id": task_id, "chroot": "fedora-42-x86_64", "status": 0,
              "results": results, "result_dir": f"{build.id:08d}-linted"}  # fmt: skip
    post(client, "/backend/update/", {"builds": [update]}, backend_headers)
    shown = get(client, chroot_url)["rpmlint"]
    assert shown == {
        "ran": True, "errors": 1, "warnings": 0, "findings": [finding],
        "report_url": "http://results.test/results/alice/linted/fedora-42-x86_64/"
                      f"{build.id:08d}-linted/rpmlint.txt",
    }  # fmt: skip
    listed = get(client, f"/api_3/build-chroot/list/{build.id}")["items"]
    assert listed[0]["rpmlint"] == shown
