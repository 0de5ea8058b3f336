"""Removing a pull-request dir: the frontend's ``remove_dirs`` action, run by the real
action dispatcher on a real results tree."""

from __future__ import annotations

from copr_backend.testing.helpers import running_action_dispatcher, wait_for
from copr_common.enums import ActionTypeEnum, BackendResultEnum, StatusEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.actions.models import Action
from copr_frontend.projects.logic import get_project_dir
from copr_frontend.webhooks.logic import remove_dir

CHROOT = "fedora-42-x86_64"


def _finished(db_session, action_id: int) -> Action:
    def done():
        db_session.expire_all()
        action = db_session.get(Action, action_id)
        return action if action.result != BackendResultEnum.waiting else None

    return wait_for(done, 30, f"action {action_id}")


def test_a_closed_pull_request_dir_goes_with_its_results(factory, db_session, make_backend):
    backend = make_backend()
    owner = factory.user("alice")
    project = factory.project(owner, name="proj", chroots=[CHROOT])
    factory.build(project, dirname="proj:pr:4", source_status=StatusEnum.succeeded,
                  chroot_status=StatusEnum.succeeded)  # fmt: skip
    root = backend.settings.results_dir / "alice"
    for dirname in ("proj", "proj:pr:4", "proj:pr:5"):
        (root / dirname / CHROOT / "repodata").mkdir(parents=True)
        (root / dirname / "pubkey.gpg").write_text("key\n")

    project_dir = get_project_dir(db_session, project, "proj:pr:4")
    remove_dir(db_session, project_dir)
    db_session.commit()
    (action,) = db_session.query(Action).filter(Action.action_type == ActionTypeEnum.remove_dirs)
    with running_action_dispatcher(backend):
        done = _finished(db_session, action.id)
    assert done.result == BackendResultEnum.success, done.message
    assert done.message == "removed 1 project dirs"
    assert sorted(p.name for p in root.iterdir()) == ["proj", "proj:pr:5"]


def test_remove_dirs_refuses_the_main_dir_and_other_projects(factory, db_session, make_backend):
    backend = make_backend()
    owner = factory.user("bob")
    project = factory.project(owner, name="proj", chroots=[CHROOT])
    root = backend.settings.results_dir / "bob"
    for dirname in ("proj", "proj:pr:1", "other:pr:1"):
        (root / dirname).mkdir(parents=True)
    actions = [
        queue_action(
            db_session,
            ActionTypeEnum.remove_dirs,
            "copr",
            project.id,
            {"ownername": "bob", "projectname": "proj", "project_dirnames": names},
            project=project,
        )  # fmt: skip
        for names in (["proj:pr:1", "proj"], ["other:pr:1"], ["../../etc"], "proj:pr:1")
    ]
    db_session.commit()
    with running_action_dispatcher(backend):
        results = [_finished(db_session, a.id) for a in actions]
    assert [r.result for r in results] == [BackendResultEnum.failure] * 4
    assert "'proj' is not a pull-request or custom dir" in results[0].message
    assert sorted(p.name for p in root.iterdir()) == ["other:pr:1", "proj", "proj:pr:1"]
