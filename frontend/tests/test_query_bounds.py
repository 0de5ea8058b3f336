"""The backend feeds and the API v3 reads run a fixed number of SQL statements.

The backend polls ``/backend/pending-jobs/`` with every pending task of the whole site in
it, so one query per row (a lazy load of a build's project, dir or submitter) grows with
the queue until the backend's timeout expires.  Each test fills the database with many
owners, submitters, dirs, packages and builds and checks that a request stays under a
bound that does not depend on how many rows it returns; ``test_the_bounds_do_not_grow``
checks the same with twice the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import flask
import flask.testing
import pytest

from copr_common.enums import ActionTypeEnum, BuildSourceEnum, StatusEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.backend_api import views
from copr_frontend.builds.models import Build
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.testing import Factory, counting_queries

CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64", "epel-9-x86_64")


@dataclass
class Busy:
    """What :func:`fill` made: the first owner's project and one of its builds."""

    ownername: str
    projectname: str
    build: Build
    owners: int


def fill(factory: Factory, owners: int, offset: int = 0) -> Busy:
    """Per owner: a project (a group's for every third), a package, a submitter, and
    builds in every state a feed lists: pending source builds (one custom, one in a
    custom dir), pending RPM tasks, an importing build, a finished background build, a
    running build canceled (two cancel requests), waiting actions, and three more
    packages with a succeeded build each."""
    first: Busy | None = None
    session = factory.session
    for number in range(offset, offset + owners):
        owner = factory.user(f"owner{number}")
        submitter = factory.user(f"submitter{number}")
        group = factory.group(f"team{number}", members=[owner]) if number % 3 == 2 else None
        project = factory.project(owner, f"proj{number}", group=group, chroots=CHROOTS)
        package = factory.package(project, f"pkg{number}")
        build = factory.build(project, user=submitter, package=package)
        factory.build(
            project,
            source_type=BuildSourceEnum.custom,
            source_json={"script": "#!/bin/sh\n", "chroot": "fedora-42-x86_64"},
        )
        factory.build(
            project, dirname=f"proj{number}:custom:side", package=package,
            source_status=StatusEnum.succeeded, chroot_status=StatusEnum.pending,
        )  # fmt: skip
        factory.build(project, user=submitter, package=package,
                      source_status=StatusEnum.importing)  # fmt: skip
        factory.build(project, package=package, is_background=True,
                      source_status=StatusEnum.succeeded,
                      chroot_status=StatusEnum.succeeded)  # fmt: skip
        running = factory.build(project, user=submitter, source_status=StatusEnum.running)
        factory.build(project, package=package, source_status=StatusEnum.succeeded,
                      chroot_status=StatusEnum.running)  # fmt: skip
        cancel_build(session, running)
        for index in range(3):
            other = factory.package(project, f"lib{number}-{index}")
            factory.build(project, package=other, source_status=StatusEnum.succeeded,
                          chroot_status=StatusEnum.succeeded)  # fmt: skip
        names = {"ownername": project.ownername, "projectname": project.name}
        queue_action(session, ActionTypeEnum.createrepo, "copr", project.id, names,
                     project=project)  # fmt: skip
        # No names in the data: the project row says whose queue it is in.
        queue_action(session, ActionTypeEnum.delete, "build", build.id, {}, project=project)
        session.commit()
        if first is None:
            first = Busy(project.ownername, project.name, build, owners)
    assert first is not None
    return first


def statements(app: flask.Flask, client: flask.testing.FlaskClient, path: str) -> list[str]:
    """The SQL statements of ``GET path`` (its whole body read), which must answer 200."""
    with counting_queries(app) as run:
        response = client.get(path)
        body = response.get_data()
    assert response.status_code == 200, body[:500]
    assert body.strip() not in (b"", b"[]", b"{}"), f"{path} listed nothing"
    return run


def api_reads(busy: Busy) -> dict[str, str]:
    project = f"ownername={busy.ownername}&projectname={busy.projectname}"
    build = busy.build.id
    return {
        "/api_3/build/list?limit=100&" + project: "build/list",
        "/api_3/project/list?limit=100": "project/list",
        "/api_3/project/list?limit=100&ownername=owner1": "project/list of an owner",
        "/api_3/project/search?query=proj&limit=100": "project/search",
        "/api_3/package/list?" + project: "package/list",
        "/api_3/package/list?with_latest_build=1&with_latest_succeeded_build=1&" + project: (
            "package/list with the latest builds"
        ),
        f"/api_3/build-chroot/list/{build}": "build-chroot/list",
        f"/api_3/build/{build}": "build/get",
        "/api_3/project?" + project: "project/get",
    }


BACKEND_FEEDS = (
    "/backend/pending-jobs/",
    "/backend/pending-jobs/?limit=5",
    "/backend/importing/",
    "/backend/pending-actions/",
    "/backend/build-tasks/cancel-requests/",
    "/backend/queued-tasks/?task_id=1&task_id=2&task_id=3-fedora-42-x86_64",
)

BOUND = 8
"""Statements one read may run, whatever the number of rows: the rows themselves in one
query, the eager loads of their relations (one each), a count for a page."""

BACKEND_BOUND = 3
"""The backend feeds are plain lists: one query each, two for pending-jobs (source
tasks, then RPM tasks), three for a page of it (the fair ranks first)."""


@pytest.fixture
def busy(factory: Factory) -> Busy:
    return fill(factory, owners=9)


@pytest.mark.parametrize("path", BACKEND_FEEDS)
def test_backend_feeds_run_a_fixed_number_of_queries(app, client, busy, path: str) -> None:  # type: ignore[no-untyped-def]
    run = statements(app, client, path)
    assert len(run) <= BACKEND_BOUND, (path, len(run), run)


def test_api_reads_run_a_fixed_number_of_queries(app, client, busy) -> None:  # type: ignore[no-untyped-def]
    too_many = {}
    for path, what in api_reads(busy).items():
        run = statements(app, client, path)
        if len(run) > BOUND:
            too_many[what] = (len(run), run)
    assert not too_many, too_many


def test_the_bounds_do_not_grow(app, client, factory: Factory) -> None:
    busy = fill(factory, owners=3)
    paths = [*BACKEND_FEEDS, *api_reads(busy)]
    few = {path: len(statements(app, client, path)) for path in paths}
    fill(factory, owners=6, offset=3)
    many = {path: len(statements(app, client, path)) for path in paths}
    assert few == many


def _short(task: dict[str, Any]) -> dict[str, Any]:
    keys = ("task_id", "build_id", "project_owner", "sandbox", "background", "chroot", "tags")
    return {key: task[key] for key in keys if key in task}


@pytest.mark.parametrize("chunk", [1, 64 * 1024])
def test_pending_jobs_stream_the_text_jsonify_wrote(  # type: ignore[no-untyped-def]
    app, client, factory: Factory, monkeypatch, chunk: int
) -> None:
    """Byte for byte what ``jsonify`` of the list wrote, each task what the full task
    JSON (read through the ORM) says, in small chunks as in one."""
    monkeypatch.setattr(views, "STREAM_CHUNK", chunk)
    busy = fill(factory, owners=2)
    # A build nobody is the user of: the sandbox takes the name of what submitted it.
    busy.build.user_id = None
    busy.build.submitted_by = "GitHub webhook"
    factory.session.commit()
    response = client.get("/backend/pending-jobs/")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Copr-FE-BE-API-Version"] == views.FE_BE_API_VERSION
    body = response.get_data(as_text=True)
    jobs = json.loads(body)
    assert body == json.dumps(jobs, sort_keys=True, separators=(",", ":")) + "\n"
    # Per owner: two pending source builds, a pending and a running build's chroots.
    assert len(jobs) == 2 * (2 + 2 * len(CHROOTS))
    for job in jobs:
        if "-" in job["task_id"]:
            full = client.get(f"/backend/get-build-task/{job['task_id']}/").get_json()
        else:
            full = client.get(f"/backend/get-srpm-build-task/{job['task_id']}/").get_json()
        assert job == _short(full)
    by_id = {job["task_id"]: job for job in jobs}
    assert by_id[str(busy.build.id)]["sandbox"] == "owner0/proj0--GitHub webhook"
    custom = [job for job in jobs if job["chroot"] is not None and "-" not in job["task_id"]]
    assert [job["chroot"] for job in custom] == ["fedora-42-x86_64"] * 2


def test_pending_jobs_empty_and_in_debug_mode(app, client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/backend/pending-jobs/").get_data(as_text=True) == "[]\n"
    fill(factory, owners=1)
    compact = client.get("/backend/pending-jobs/").get_data(as_text=True)
    app.debug = True  # jsonify indents: the same list, the same indented text
    indented = client.get("/backend/pending-jobs/").get_data(as_text=True)
    assert json.loads(indented) == json.loads(compact)
    assert indented == json.dumps(json.loads(compact), sort_keys=True, indent=2) + "\n"


def test_a_client_that_goes_away_ends_the_query(app, client, factory: Factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(views, "STREAM_CHUNK", 1)
    fill(factory, owners=2)
    pool = app.extensions["copr_database"].engine.pool
    response = client.get("/backend/pending-jobs/", buffered=False)
    first = next(iter(response.response))
    assert first.startswith(b'[{"background":')
    assert pool.checkedout() == 1  # the stream's session, its cursor still open
    response.close()
    assert pool.checkedout() == 0
