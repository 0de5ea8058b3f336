"""Actions through the real frontend queue and action dispatcher, on a real results tree."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from copr_backend.createrepo import Createrepo
from copr_backend.testing.helpers import listed, running_action_dispatcher, wait_for
from copr_common.enums import ActionTypeEnum, BackendResultEnum, StatusEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.actions.models import Action
from copr_frontend.builds.removal import delete_build
from copr_frontend.projects.logic import delete_project, queue_createrepo

CHROOTS = ("fedora-42-x86_64", "fedora-41-x86_64")


def _finish(db_session, action_id: int) -> Action:
    def done():
        db_session.expire_all()
        action = db_session.get(Action, action_id)
        return action if action.result != BackendResultEnum.waiting else None

    return wait_for(done, 30, f"action {action_id}")


def _published_build(factory, backend, project, rpm: Path):
    """A finished build with its files in the results tree, as a build worker leaves them."""
    package = factory.package(project, rpm.name.split("-")[0])
    build = factory.build(
        project,
        package=package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    root = backend.settings.results_dir / project.ownername / project.name
    srpm_dir = root / "srpm-builds" / f"{build.id:08d}"
    srpm_dir.mkdir(parents=True)
    (srpm_dir / "builder-live.log.gz").write_bytes(b"")
    for chroot in CHROOTS:
        build_dir = root / chroot / f"{build.id:08d}-{package.name}"
        build_dir.mkdir(parents=True)
        shutil.copyfile(rpm, build_dir / rpm.name)
    return build


def test_delete_actions_remove_exactly_the_right_files(
    factory, db_session, make_backend, tiny_rpms
):
    backend = make_backend()
    owner = factory.user("alice")
    project = factory.project(owner, name="del", chroots=CHROOTS)
    other = factory.project(owner, name="keep", chroots=CHROOTS)
    first = _published_build(factory, backend, project, tiny_rpms[0])
    second = _published_build(factory, backend, project, tiny_rpms[1])
    kept = _published_build(factory, backend, other, tiny_rpms[2])
    root = backend.settings.results_dir / "alice"
    createrepo = Createrepo(backend.settings.createrepo_dir)
    for chroot in CHROOTS:
        createrepo.update(root / "del" / chroot, full=True)
        createrepo.update(root / "keep" / chroot, full=True)
    second_dir = f"{second.id:08d}-tiny1"

    with running_action_dispatcher(backend):
        # One build: its dirs in every chroot and srpm-builds, and its repodata entries.
        delete_build(db_session, first)
        db_session.commit()
        action = db_session.query(Action).order_by(Action.id.desc()).first()
        assert _finish(db_session, action.id).result == BackendResultEnum.success, action.message
        for chroot in CHROOTS:
            assert sorted(p.name for p in (root / "del" / chroot).iterdir()) == [
                second_dir,
                "repodata",
            ]
            assert listed(root / "del" / chroot) == [f"{second_dir}/{tiny_rpms[1].name}"]
        assert [p.name for p in (root / "del" / "srpm-builds").iterdir()] == [f"{second.id:08d}"]

        # One chroot of the project.
        chroot_action = queue_action(
            db_session,
            ActionTypeEnum.delete,
            "chroot",
            None,
            {"ownername": "alice", "projectname": "del", "chrootname": CHROOTS[1]},
        )
        db_session.commit()
        assert _finish(db_session, chroot_action.id).result == BackendResultEnum.success
        assert not (root / "del" / CHROOTS[1]).exists()
        assert (root / "del" / CHROOTS[0] / second_dir).is_dir()

        # The whole project; the owner's other project stays as it was.
        delete_project(db_session, project)
        db_session.commit()
        action = db_session.query(Action).order_by(Action.id.desc()).first()
        assert _finish(db_session, action.id).result == BackendResultEnum.success
        assert not (root / "del").exists()

    for chroot in CHROOTS:
        kept_dir = root / "keep" / chroot / f"{kept.id:08d}-tiny2"
        assert (kept_dir / tiny_rpms[2].name).is_file()
        assert listed(root / "keep" / chroot) == [f"{kept_dir.name}/{tiny_rpms[2].name}"]


def test_delete_builds_of_several_dirs(factory, db_session, make_backend, tiny_rpms):
    backend = make_backend()
    project = factory.project(factory.user("bob"), name="multi", chroots=CHROOTS[:1])
    builds = [_published_build(factory, backend, project, rpm) for rpm in tiny_rpms[3:6]]
    chroot_dir = backend.settings.results_dir / "bob" / "multi" / CHROOTS[0]
    Createrepo(backend.settings.createrepo_dir).update(chroot_dir, full=True)
    gone = builds[:2]
    action = queue_action(
        db_session,
        ActionTypeEnum.delete,
        "builds",
        None,
        {
            "ownername": "bob",
            "projectname": "multi",
            "project_dirnames": {
                "multi": {
                    CHROOTS[0]: [f"{b.id:08d}-{b.package_name}" for b in gone],
                    "srpm-builds": [f"{b.id:08d}" for b in gone],
                }
            },
            "build_ids": [b.id for b in gone],
        },
    )
    db_session.commit()
    with running_action_dispatcher(backend):
        assert _finish(db_session, action.id).result == BackendResultEnum.success
    left = builds[2]
    assert listed(chroot_dir) == [f"{left.id:08d}-tiny5/{tiny_rpms[5].name}"]
    assert sorted(p.name for p in chroot_dir.iterdir()) == [f"{left.id:08d}-tiny5", "repodata"]


def test_createrepo_and_gen_gpg_key_actions(factory, db_session, make_backend):
    backend = make_backend()
    project = factory.project(factory.user("carol"), name="fresh", chroots=CHROOTS)
    queue_createrepo(db_session, project, CHROOTS)
    queue_action(
        db_session,
        ActionTypeEnum.gen_gpg_key,
        "copr",
        project.id,
        {"ownername": "carol", "projectname": "fresh"},
        project=project,
    )
    db_session.commit()
    with running_action_dispatcher(backend):
        for action in db_session.query(Action).all():
            assert _finish(db_session, action.id).result == BackendResultEnum.success
    root = backend.settings.results_dir / "carol" / "fresh"
    assert "BEGIN PGP PUBLIC KEY BLOCK" in (root / "pubkey.gpg").read_text()
    for chroot in CHROOTS:
        assert listed(root / chroot) == []


def test_project_deleted_while_its_key_is_made(factory, db_session, make_backend):
    """The delete runs after the gen_gpg_key and createrepo queued before it: nothing of
    the project is left, not even the pubkey.gpg its key generation writes."""
    from copr_frontend.projects.logic import queue_new_project_actions

    backend = make_backend()
    project = factory.project(factory.user("ida"), name="brief", chroots=CHROOTS)
    queue_new_project_actions(db_session, project)
    db_session.commit()
    delete_project(db_session, project)
    db_session.commit()
    actions = db_session.query(Action).order_by(Action.id).all()
    assert [a.action_type for a in actions] == [
        ActionTypeEnum.gen_gpg_key,
        ActionTypeEnum.createrepo,
        ActionTypeEnum.delete,
    ]
    with running_action_dispatcher(backend):
        finished = [_finish(db_session, action.id) for action in actions]
    assert [a.result for a in finished] == [BackendResultEnum.success] * 3, [
        a.message for a in finished
    ]
    # Each one ended before the next one of the project started.
    assert finished[0].ended_on <= finished[1].ended_on <= finished[2].ended_on
    assert not (backend.settings.results_dir / "ida" / "brief").exists()


@pytest.mark.parametrize(
    ("object_type", "data", "message"),
    [
        ("chroot", {"ownername": "dave", "projectname": "p", "chrootname": "../../x"}, "chroot"),
        ("build", {"ownername": "dave", "projectname": "p"}, "chroot_builddirs"),
        (
            "build",
            {
                "ownername": "dave",
                "project_dirname": "p",
                "chroot_builddirs": {"fedora-42-x86_64": ["../../../etc"]},
            },
            "not a build directory",
        ),
        ("copr", {"ownername": "../dave", "projectname": "p"}, "owner"),
        ("user", {"ownername": "dave"}, "cannot delete objects of type 'user'"),
    ],
)
def test_bad_delete_actions_fail_and_remove_nothing(
    factory, db_session, make_backend, object_type, data, message
):
    backend = make_backend()
    project_dir = backend.settings.results_dir / "dave" / "p"
    build_dir = project_dir / "fedora-42-x86_64" / "00000001-pkg"
    build_dir.mkdir(parents=True)
    (build_dir / "pkg-1-1.noarch.rpm").write_bytes(b"rpm")
    before = sorted(str(p) for p in backend.settings.results_dir.rglob("*"))
    action = queue_action(db_session, ActionTypeEnum.delete, object_type, None, data)
    db_session.commit()
    with running_action_dispatcher(backend):
        finished = _finish(db_session, action.id)
    assert finished.result == BackendResultEnum.failure
    assert message in (finished.message or ""), finished.message
    assert sorted(str(p) for p in backend.settings.results_dir.rglob("*")) == before


def test_unsupported_action_type_fails_clearly(factory, db_session, make_backend):
    backend = make_backend()
    action = queue_action(db_session, ActionTypeEnum.update_comps, "copr", None, {})
    db_session.commit()
    started = time.monotonic()
    with running_action_dispatcher(backend):
        finished = _finish(db_session, action.id)
    assert finished.result == BackendResultEnum.failure
    assert "does not do update_comps actions" in (finished.message or "")
    assert time.monotonic() - started < 30


def test_fork_copies_and_resigns_with_the_forks_key(
    factory, db_session, make_backend, tiny_rpms, tmp_path, settings
):
    from copr_backend.signing import create_signer
    from copr_backend.testing.helpers import rpm_verify
    from copr_frontend.projects.logic import fork_project

    backend = make_backend()
    signer = create_signer(backend.settings)
    owner = factory.user("erin")
    source = factory.project(owner, name="orig", chroots=CHROOTS[:1])
    build = _published_build(factory, backend, source, tiny_rpms[7])
    source_dir = backend.settings.results_dir / "erin" / "orig"
    old_rpm = source_dir / CHROOTS[0] / f"{build.id:08d}-tiny7" / tiny_rpms[7].name
    signer.sign("erin", "orig", [old_rpm])
    signer.write_pubkey("erin", "orig", source_dir / "pubkey.gpg")

    forker = factory.user("frank")
    fork = fork_project(db_session, source, forker, "copy", settings=settings)
    db_session.commit()
    action = db_session.query(Action).filter(Action.action_type == ActionTypeEnum.fork).one()
    with running_action_dispatcher(backend):
        finished = _finish(db_session, action.id)
        assert finished.result == BackendResultEnum.success, finished.message
    from copr_frontend.builds.models import Build

    forked_build = db_session.query(Build).filter(Build.project_id == fork.id).one()
    target_dir = backend.settings.results_dir / "frank" / "copy"
    new_rpm = target_dir / CHROOTS[0] / f"{forked_build.id:08d}-tiny7" / tiny_rpms[7].name
    assert "digests signatures OK" in rpm_verify(
        new_rpm, target_dir / "pubkey.gpg", tmp_path / "db-fork"
    )
    # The source's packages keep the source's signature.
    assert "digests signatures OK" in rpm_verify(
        old_rpm, source_dir / "pubkey.gpg", tmp_path / "db-orig"
    )
    assert "digests signatures OK" not in rpm_verify(
        old_rpm, target_dir / "pubkey.gpg", tmp_path / "db-mixed"
    )
    assert listed(target_dir / CHROOTS[0]) == [f"{new_rpm.parent.name}/{new_rpm.name}"]
    assert (target_dir / "srpm-builds" / f"{forked_build.id:08d}").is_dir()


def test_fork_with_a_bad_build_dir_copies_nothing(factory, db_session, make_backend):
    backend = make_backend()
    source_dir = backend.settings.results_dir / "gina" / "src" / CHROOTS[0] / "00000001-pkg"
    source_dir.mkdir(parents=True)
    action = queue_action(
        db_session,
        ActionTypeEnum.fork,
        "copr",
        None,
        {
            "ownername": "hank",
            "projectname": "dst",
            "builds_map": {CHROOTS[0]: {"00000001-pkg": "00000002-pkg", "x": "../../../tmp"}},
        },
        old_value="gina/src",
    )
    db_session.commit()
    with running_action_dispatcher(backend):
        finished = _finish(db_session, action.id)
    assert finished.result == BackendResultEnum.failure
    assert "not a build directory" in (finished.message or "")
    assert not (backend.settings.results_dir / "hank").exists()
