"""Backend API: scheduling order, batches, cancel, reschedule, actions, auth, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_common.enums import ActionTypeEnum, BackendResultEnum, StatusEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build, CancelRequest
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.testing import Factory, basic_auth


def post(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.data
    return response.get_json()


def task_ids(client: FlaskClient) -> list[str]:
    return [job["task_id"] for job in client.get("/backend/pending-jobs/").get_json()]


def fresh(factory: Factory, build_id: int) -> Build:
    factory.session.expire_all()
    build = factory.session.get(Build, build_id)
    assert build is not None
    return build


@pytest.fixture
def project(factory: Factory):  # type: ignore[no-untyped-def]
    return factory.project(factory.user("bob"), "queue", chroots=["fedora-42-x86_64"])


def test_source_builds_first_background_last(client, factory, project) -> None:  # type: ignore[no-untyped-def]
    background = factory.build(project, is_background=True)
    rpm_task = factory.build(project, source_status=StatusEnum.succeeded,
                             chroot_status=StatusEnum.pending)  # fmt: skip
    normal = factory.build(project)
    waiting = factory.build(project, source_status=StatusEnum.importing)
    finished = factory.build(project, source_status=StatusEnum.succeeded,
                             chroot_status=StatusEnum.succeeded)  # fmt: skip
    ids = task_ids(client)
    assert ids == [str(normal.id), str(background.id), f"{rpm_task.id}-fedora-42-x86_64"]
    assert str(waiting.id) not in ids
    assert all(not i.startswith(f"{finished.id}") for i in ids)


def test_blocked_batch_is_held_back(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    first = factory.build(project)
    with_first = factory.build(project, with_build=first)
    after_first = factory.build(project, after_build=first)
    assert task_ids(client) == [str(first.id), str(with_first.id)]
    for build in (first, with_first):
        post(client, "/backend/update/",
             {"builds": [{"id": build.id, "task_id": str(build.id), "status": 0}]},
             backend_headers)  # fmt: skip
    assert task_ids(client) == [str(after_first.id)]


def test_canceled_builds_leave_the_queue(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project, source_status=StatusEnum.succeeded,
                          chroot_status=StatusEnum.running)  # fmt: skip
    assert cancel_build(factory.session, build)
    factory.session.commit()
    task_id = f"{build.id}-fedora-42-x86_64"
    assert task_ids(client) == []
    assert client.get("/backend/build-tasks/cancel-requests/").get_json() == [task_id]
    assert post(client, "/backend/starting_build/",
                {"build_id": build.id, "chroot": "fedora-42-x86_64"},
                backend_headers) == {"can_start": False}  # fmt: skip
    # Late reports of the canceled task change nothing.
    post(client, "/backend/update/",
         {"builds": [{"id": build.id, "chroot": "fedora-42-x86_64", "status": 1}]},
         backend_headers)  # fmt: skip
    assert fresh(factory, build.id).state == StatusEnum.canceled

    assert post(client, f"/backend/build-tasks/canceled/{task_id}/", True, backend_headers) == (
        "success"
    )
    assert client.get("/backend/build-tasks/cancel-requests/").get_json() == []
    assert factory.session.query(CancelRequest).count() == 0


def test_canceled_task_that_was_not_running_is_marked(
    client, factory, project, backend_headers
) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project, source_status=StatusEnum.running)
    post(client, f"/backend/build-tasks/canceled/{build.id}/", False, backend_headers)
    assert fresh(factory, build.id).source_status == StatusEnum.canceled
    response = client.post(f"/backend/build-tasks/canceled/{build.id}/", json={"x": 1},
                           headers=backend_headers)  # fmt: skip
    assert response.status_code == 400


def test_reschedule(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project, source_status=StatusEnum.succeeded,
                          chroot_status=StatusEnum.running)  # fmt: skip
    task_id = f"{build.id}-fedora-42-x86_64"
    body = {"build_id": build.id, "task_id": task_id, "chroot": "fedora-42-x86_64"}
    assert post(client, "/backend/reschedule_build_chroot/", body, backend_headers)["result"] == (
        "done"
    )
    chroot = fresh(factory, build.id).chroots[0]
    assert chroot.status == StatusEnum.pending
    assert chroot.started_on is None
    assert post(client, "/backend/reschedule_build_chroot/", body, backend_headers)["result"] == (
        "noop"
    )
    missing = post(client, "/backend/reschedule_build_chroot/", {"build_id": 12345},
                   backend_headers)  # fmt: skip
    assert missing["result"] == "noop"


def test_actions_queue_and_results(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    session = factory.session
    mine = {"ownername": "bob", "projectname": "queue"}
    createrepo = queue_action(session, ActionTypeEnum.createrepo, "copr", project.id, mine,
                              project=project)  # fmt: skip
    delete = queue_action(session, ActionTypeEnum.delete, "copr", project.id, mine,
                          project=project)  # fmt: skip
    fork = queue_action(session, ActionTypeEnum.fork, "copr", project.id, mine,
                        project=project)  # fmt: skip
    gpg = queue_action(session, ActionTypeEnum.gen_gpg_key, "copr", None,
                       {"ownername": "eve", "projectname": "other"})  # fmt: skip
    session.commit()

    pending = client.get("/backend/pending-actions/").get_json()
    # gen_gpg_key has the highest priority; bob/queue's actions run one at a time, in the
    # order they were queued: its delete waits for the createrepo, the fork for the delete.
    assert pending == [
        {"id": gpg.id, "priority": -70},
        {"id": createrepo.id, "priority": 0},
    ]
    assert client.get("/backend/pending-action-count/").get_json() == 4

    action = client.get(f"/backend/action/{createrepo.id}/").get_json()
    assert action["action_type"] == int(ActionTypeEnum.createrepo)
    assert action["object_type"] == "copr"
    assert json.loads(action["data"]) == {"ownername": "bob", "projectname": "queue"}
    assert client.get("/backend/action/99999/").status_code == 404

    result = post(client, "/backend/update/",
                  {"actions": [{"id": createrepo.id, "result": 1, "message": "ok",
                                "ended_on": 500}, {"id": 4242, "result": 2}]},
                  backend_headers)  # fmt: skip
    assert result == {"updated_actions_ids": [createrepo.id], "non_existing_actions_ids": [4242]}
    # A repeated report does not overwrite the first one.
    post(client, "/backend/update/", {"actions": [{"id": createrepo.id, "result": 2}]},
         backend_headers)  # fmt: skip
    session.expire_all()
    stored = session.get(Action, createrepo.id)
    assert stored is not None
    assert stored.result == BackendResultEnum.success
    assert stored.ended_on == 500
    pending = client.get("/backend/pending-actions/").get_json()
    assert pending == [{"id": gpg.id, "priority": -70}, {"id": delete.id, "priority": 60}]
    post(client, "/backend/update/", {"actions": [{"id": delete.id, "result": 1}]},
         backend_headers)  # fmt: skip
    pending = client.get("/backend/pending-actions/").get_json()
    assert pending == [{"id": gpg.id, "priority": -70}, {"id": fork.id, "priority": 0}]


def test_a_project_deleted_while_its_key_is_made(  # type: ignore[no-untyped-def]
    client, factory, backend_headers
) -> None:
    """A new project queues gen_gpg_key and createrepo; its delete comes after both."""
    alice = factory.user("alice")
    auth = factory.auth(alice)
    factory.mock_chroot("fedora-42-x86_64")
    body = {"name": "short-lived", "chroots": ["fedora-42-x86_64"]}
    created = client.post("/api_3/project/add/alice", headers=auth, json=body)
    assert created.status_code == 200, created.get_json()
    deleted = client.post("/api_3/project/delete/alice/short-lived", headers=auth, json={})
    assert deleted.status_code == 200, deleted.get_json()
    session = factory.session
    queued = session.query(Action).order_by(Action.id).all()
    assert [a.action_type for a in queued] == [
        ActionTypeEnum.gen_gpg_key, ActionTypeEnum.createrepo, ActionTypeEnum.delete,
    ]  # fmt: skip
    for action in queued:
        # The backend is given each one only after the one before it has been reported.
        assert client.get("/backend/pending-actions/").get_json() == [
            {"id": action.id, "priority": action.priority}
        ]
        post(client, "/backend/update/", {"actions": [{"id": action.id, "result": 1}]},
             backend_headers)  # fmt: skip
    assert client.get("/backend/pending-actions/").get_json() == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/backend/update/", {"builds": []}),
        ("/backend/starting_build/", {"build_id": 1}),
        ("/backend/import-completed/", {"build_id": 1}),
        ("/backend/reschedule_build_chroot/", {"build_id": 1}),
        ("/backend/build-tasks/canceled/1/", True),
    ],
)
def test_writes_need_the_backend_password(client, path: str, body: Any) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, basic_auth("backend", "wrong-password")):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 401
        assert "password" in response.get_json()["error"]
        assert response.headers["Copr-FE-BE-API-Version"] == "6"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"builds": "nope"},
        {"builds": [{"status": 1}]},
        {"builds": [{"id": "x", "status": 1}]},
        {"actions": [{"id": 1, "result": 7}]},
    ],
)
def test_malformed_updates_are_400(client, backend_headers, body: Any) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/backend/update/", json=body, headers=backend_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_one_bad_entry_stores_nothing(client, factory, project, backend_headers) -> None:  # type: ignore[no-untyped-def]
    build = factory.build(project)
    body = {"builds": [
        {"id": build.id, "task_id": str(build.id), "status": 3},
        {"id": build.id + 1000, "status": "exploded"},
    ]}  # fmt: skip
    response = client.post("/backend/update/", json=body, headers=backend_headers)
    assert response.status_code == 400
    assert "exploded" in response.get_json()["error"]
    assert fresh(factory, build.id).source_status == StatusEnum.pending

    body = {"builds": [{"id": build.id, "chroot": "nope-1-x", "status": 3}]}
    response = client.post("/backend/update/", headers=backend_headers, json=body)
    assert response.status_code == 400
    assert "nope-1-x" in response.get_json()["error"]


def test_import_completed_rejects_bad_commit_maps(client, backend_headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/backend/import-completed/", headers=backend_headers,
                           json={"build_id": 1, "branch_commits": ["f42"]})  # fmt: skip
    assert response.status_code == 400
    assert "branch_commits" in response.get_json()["error"]
