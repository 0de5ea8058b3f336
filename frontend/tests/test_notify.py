"""Push dispatch: commits that queue work publish a wakeup for the backend dispatchers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import flask
import pytest
from redis import Redis

from copr_common.enums import StatusEnum
from copr_frontend.app import create_app
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

BUILD = "copr:backend-build:wakeup"
ACTION = "copr:backend-action:wakeup"
IMPORT = "copr:distgit-import:wakeup"


@pytest.fixture
def notifying_app(settings: FrontendSettings, redis_url: str) -> Iterator[flask.Flask]:
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    yield app
    app.extensions["copr_database"].dispose()


@pytest.fixture
def wakeups(redis_url: str) -> Iterator[object]:
    pubsub = Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(BUILD, ACTION, IMPORT)
    pubsub.get_message(timeout=0.5)  # the subscribe confirmations

    def received() -> list[str]:
        channels = []
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                channels.append(message["channel"].decode())
        return channels

    yield received
    pubsub.close()


def test_submitting_a_build_wakes_the_build_dispatcher(  # type: ignore[no-untyped-def]
    notifying_app, factory: Factory, wakeups
) -> None:
    user = factory.user()
    project = factory.project(user, chroots=["fedora-42-x86_64"])
    response = notifying_app.test_client().post(
        "/api_3/build/create/url",
        json={
            "ownername": project.ownername,
            "projectname": project.name,
            "pkgs": ["https://example.org/hello-1-1.src.rpm"],
        },
        headers=factory.auth(user),
    )
    assert response.status_code == 200, response.get_json()
    assert wakeups() == [BUILD]


def test_backend_reports_and_refused_requests_publish_nothing(  # type: ignore[no-untyped-def]
    notifying_app, factory: Factory, wakeups, backend_headers
) -> None:
    user = factory.user()
    project = factory.project(user, chroots=["fedora-42-x86_64"])
    build = factory.build(project)
    client = notifying_app.test_client()
    report = {"builds": [{"id": build.id, "task_id": build.task_id, "status": 3}]}
    assert client.post("/backend/update/", json=report, headers=backend_headers).status_code == 200
    refused = client.post(
        "/api_3/build/create/url",
        json={"ownername": project.ownername, "projectname": project.name, "pkgs": []},
        headers=factory.auth(user),
    )
    assert refused.status_code == 400
    assert wakeups() == []


def test_imported_chroots_and_actions_wake_their_dispatchers(  # type: ignore[no-untyped-def]
    notifying_app, factory: Factory, wakeups, backend_headers
) -> None:
    user = factory.user()
    project = factory.project(user, chroots=["fedora-42-x86_64"])
    build = factory.build(project, source_status=StatusEnum.importing)
    for chroot in build.chroots:
        chroot.status = StatusEnum.waiting
    factory.session.commit()
    client = notifying_app.test_client()
    imported = client.post(
        "/backend/import-completed/",
        json={"build_id": build.id, "branch_commits": {"f42": "a" * 40}},
        headers=backend_headers,
    )
    assert imported.get_json() == {"updated": True}
    assert wakeups() == [BUILD]
    deleted = client.post(
        f"/api_3/project/delete/{project.ownername}/{project.name}", headers=factory.auth(user)
    )
    assert deleted.status_code == 200, deleted.get_json()
    assert ACTION in wakeups()


def test_a_source_build_entering_importing_wakes_dist_git(  # type: ignore[no-untyped-def]
    notifying_app, factory: Factory, wakeups, backend_headers
) -> None:
    user = factory.user()
    project = factory.project(user, chroots=["fedora-42-x86_64"])
    build = factory.build(project, source_status=StatusEnum.running)
    client = notifying_app.test_client()
    failed = {"builds": [{"id": build.id, "task_id": build.task_id, "status": "failed"}]}
    other = factory.build(project, source_status=StatusEnum.running)
    assert client.post("/backend/update/", json=failed, headers=backend_headers).status_code == 200
    assert wakeups() == []  # a failed source build leaves dist-git nothing to do
    report = {"builds": [{"id": other.id, "task_id": other.task_id, "status": "succeeded"}]}
    assert client.post("/backend/update/", json=report, headers=backend_headers).status_code == 200
    assert wakeups() == [IMPORT]
