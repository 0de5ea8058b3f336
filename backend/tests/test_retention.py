"""Pruning through the real frontend queue and action dispatcher, on a real results tree:
a pruned chroot keeps exactly what the policy says, and its repodata (made by
createrepo_c) no longer lists the pruned RPMs."""

from __future__ import annotations

import shutil
from pathlib import Path

from copr_backend.createrepo import Createrepo
from copr_backend.testing.helpers import listed, running_action_dispatcher, wait_for
from copr_common.enums import BackendResultEnum, StatusEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds import retention
from copr_frontend.builds.models import Build
from copr_frontend.db import now

CHROOTS = ("fedora-42-x86_64", "fedora-41-x86_64")
DAY = 24 * 3600


def _published(factory, backend, project, package, rpm: Path, days_ago: int, failed=()):
    """A build of ``package`` that ended ``days_ago`` days ago, with ``rpm`` in every
    chroot it succeeded in (``failed`` lists the others), as a build worker leaves it."""
    found = next((p for p in project.packages if p.name == package), None)
    build = factory.build(
        project,
        package=found or factory.package(project, package),
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )
    build.pkg_name = package
    root = backend.settings.results_dir / project.ownername / project.name
    (root / "srpm-builds" / f"{build.id:08d}").mkdir(parents=True)
    for chroot in build.chroots:
        chroot.ended_on = now() - days_ago * DAY
        build_dir = root / chroot.name / f"{build.id:08d}-{package}"
        build_dir.mkdir(parents=True)
        if chroot.name in failed:
            chroot.status = StatusEnum.failed
            (build_dir / "builder-live.log.gz").write_bytes(b"")
        else:
            shutil.copyfile(rpm, build_dir / rpm.name)
    build.ended_on = now() - days_ago * DAY
    factory.session.commit()
    return build


def test_pruning_keeps_what_the_policy_says_and_the_repodata_follows(
    factory, db_session, settings, make_backend, tiny_rpms
):
    backend = make_backend()
    project = factory.project(factory.user("alice"), name="prune", chroots=CHROOTS)
    rpm = {i: tiny_rpms[i] for i in range(10, 16)}
    old_id = _published(factory, backend, project, "app", rpm[10], 40).id
    # The newest success in fedora-41; in fedora-42 a newer build succeeded.
    middle = _published(factory, backend, project, "app", rpm[11], 30)
    newest = _published(factory, backend, project, "app", rpm[12], 25, failed=(CHROOTS[1],))
    young_failure = _published(factory, backend, project, "app", rpm[13], 1, failed=CHROOTS)
    lib = _published(factory, backend, project, "lib", rpm[14], 90)
    root = backend.settings.results_dir / "alice" / "prune"
    createrepo = Createrepo(backend.settings.createrepo_dir)
    for chroot in CHROOTS:
        createrepo.update(root / chroot, full=True)
    assert len(listed(root / CHROOTS[0])) == 4

    plan = retention.plan_pruning(
        db_session, project, settings, retention.DependencyIndex(db_session, settings)
    )
    action = retention.prune(db_session, plan)
    db_session.commit()
    assert action is not None
    with running_action_dispatcher(backend):

        def done():
            db_session.expire_all()
            found = db_session.get(Action, action.id)
            return found if found.result != BackendResultEnum.waiting else None

        finished = wait_for(done, 30, f"action {action.id}")
    assert finished.result == BackendResultEnum.success, finished.message
    assert finished.project_id == project.id

    def dirs(chroot: str) -> list[str]:
        return sorted(p.name for p in (root / chroot).iterdir() if p.name != "repodata")

    f42, f41 = CHROOTS
    assert dirs(f42) == [f"{b.id:08d}-{b.pkg_name}" for b in (newest, young_failure, lib)]
    assert listed(root / f42) == [
        f"{newest.id:08d}-app/{rpm[12].name}",
        f"{lib.id:08d}-lib/{rpm[14].name}",
    ]
    assert dirs(f41) == [f"{b.id:08d}-{b.pkg_name}" for b in (middle, young_failure, lib)]
    assert listed(root / f41) == [
        f"{middle.id:08d}-app/{rpm[11].name}",
        f"{lib.id:08d}-lib/{rpm[14].name}",
    ]
    # Only the build pruned everywhere loses its source build dir and its row.
    srpm_dirs = sorted(p.name for p in (root / "srpm-builds").iterdir())
    kept = (middle, newest, young_failure, lib)
    assert srpm_dirs == [f"{b.id:08d}" for b in kept]
    db_session.expire_all()
    assert db_session.get(Build, old_id) is None
    assert [c.name for c in db_session.get(Build, middle.id).chroots] == [f41]
    assert [c.name for c in db_session.get(Build, newest.id).chroots] == [f42]
