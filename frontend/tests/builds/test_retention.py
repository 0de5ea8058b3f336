"""Retention: exactly what auto-prune and keep-N keep, per package, chroot and dir; the
dependency rule; the delete action pruning queues; expired projects; the commands."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from copr_common.enums import ActionTypeEnum, StatusEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds import retention
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.cli import main
from copr_frontend.db import now
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

DAY = 24 * 3600
F42, F41 = "fedora-42-x86_64", "fedora-41-x86_64"


def finished(
    factory: Factory,
    project: Project,
    package: str | None,
    days_ago: float,
    status: StatusEnum = StatusEnum.succeeded,
    *,
    per_chroot: dict[str, StatusEnum] | None = None,
    dirname: str | None = None,
) -> Build:
    """A build that ended ``days_ago`` days ago in ``status`` (or ``per_chroot``)."""
    pkg = None
    if package is not None:
        pkg = next((p for p in project.packages if p.name == package), None)
        pkg = pkg or factory.package(project, package)
    build = factory.build(project, package=pkg, dirname=dirname,
                          source_status=StatusEnum.succeeded, chroot_status=status)  # fmt: skip
    if pkg is not None:
        build.pkg_name = pkg.name
    ended = now() - int(days_ago * DAY)
    for chroot in build.chroots:
        if per_chroot and chroot.name in per_chroot:
            chroot.status = per_chroot[chroot.name]
        chroot.ended_on = ended
    build.ended_on = ended
    factory.session.commit()
    return build


def kept(
    session: Any, project: Project, settings: FrontendSettings, **kwargs: Any
) -> retention.PrunePlan:
    return retention.plan_pruning(
        session, project, settings, retention.DependencyIndex(session, settings), **kwargs
    )


def pruned_pairs(plan: retention.PrunePlan) -> set[tuple[int, str]]:
    pairs = {(b.id, c.name) for b in plan.builds for c in b.chroots}
    return pairs | {(c.build_id, c.name) for c in plan.chroots}


def test_auto_prune_keeps_the_newest_success_and_the_young(
    factory: Factory, db_session: Any, settings: FrontendSettings
) -> None:
    project = factory.project(factory.user("alice"), "proj", chroots=(F42, F41))
    old_ok = finished(factory, project, "app", 40)
    newest_ok = finished(factory, project, "app", 30)
    old_failed = finished(factory, project, "app", 20, StatusEnum.failed)
    young_failed = finished(factory, project, "app", 2, StatusEnum.failed)
    # Succeeded in f42 only: its f41 failure is old and goes, the f42 success is the
    # newest there and stays, so only the f41 chroot of the build is pruned.
    mixed = finished(factory, project, "app", 25, per_chroot={F41: StatusEnum.failed})
    only_lib = finished(factory, project, "lib", 90)
    no_package = finished(factory, project, None, 30, StatusEnum.failed)
    running = factory.build(project, source_status=StatusEnum.running)

    plan = kept(db_session, project, settings)
    assert sorted(b.id for b in plan.builds) == sorted([old_ok.id, old_failed.id, no_package.id])
    # newest_ok is no longer the newest success in f42 (mixed is), but it is in f41.
    assert sorted((c.build_id, c.name) for c in plan.chroots) == [
        (newest_ok.id, F42), (mixed.id, F41),
    ]  # fmt: skip
    assert plan.build_ids == sorted(
        [old_ok.id, newest_ok.id, old_failed.id, mixed.id, no_package.id]
    )
    assert (newest_ok.id, F41) not in pruned_pairs(plan)
    for build in (young_failed, only_lib, running):
        assert build.id not in plan.build_ids
    # A shorter window prunes the young failure too.
    short = settings.model_copy(update={"prune_days": 1})
    assert young_failed.id in kept(db_session, project, short).build_ids
    # Without auto_prune (and without keep_builds) nothing is pruned.
    project.auto_prune = False
    assert kept(db_session, project, settings).build_ids == []


def test_keep_builds_keeps_the_newest_n_per_series(
    factory: Factory, db_session: Any, settings: FrontendSettings
) -> None:
    project = factory.project(factory.user("alice"), "proj", chroots=(F42,),
                              auto_prune=False, keep_builds=2)  # fmt: skip
    app = [finished(factory, project, "app", 1) for _ in range(4)]
    lib = [finished(factory, project, "lib", 1) for _ in range(2)]
    pr = [finished(factory, project, "app", 1, dirname="proj:pr:7") for _ in range(3)]
    factory.build(project, source_status=StatusEnum.running)  # neither counted nor pruned
    plan = kept(db_session, project, settings)
    assert plan.build_ids == sorted([app[0].id, app[1].id, pr[0].id])
    assert not set(plan.build_ids) & {b.id for b in lib}
    assert plan.dirs() == {
        "proj": {F42: [f"{app[0].id:08d}-app", f"{app[1].id:08d}-app"],
                 "srpm-builds": [f"{app[0].id:08d}", f"{app[1].id:08d}"]},
        "proj:pr:7": {F42: [f"{pr[0].id:08d}-app"], "srpm-builds": [f"{pr[0].id:08d}"]},
    }  # fmt: skip
    # With auto_prune too, a build stays only when both keep it.
    project.auto_prune = True
    old = finished(factory, project, "lib", 30, StatusEnum.failed)
    assert old.id in kept(db_session, project, settings).build_ids


def test_a_packages_max_builds_keeps_its_newest_n(
    factory: Factory, db_session: Any, settings: FrontendSettings
) -> None:
    project = factory.project(factory.user("alice"), "proj", chroots=(F42, F41),
                              auto_prune=False)  # fmt: skip
    other = factory.project(factory.user("bob"), "other", chroots=(F42,), auto_prune=False)
    app = [finished(factory, project, "app", 1) for _ in range(3)]
    lib = [finished(factory, project, "lib", 1) for _ in range(3)]
    assert kept(db_session, project, settings).build_ids == []  # 0: no limit
    assert project not in retention.prunable_projects(db_session)
    next(p for p in project.packages if p.name == "app").max_builds = 2
    db_session.commit()
    assert retention.prunable_projects(db_session) == [project]
    plan = kept(db_session, project, settings)
    assert plan.build_ids == [app[0].id]  # in both chroots: the whole build goes
    assert [b.id for b in plan.builds] == [app[0].id]
    assert not set(plan.build_ids) & {b.id for b in lib}
    # With keep_builds too, a build stays only when both keep it.
    project.keep_builds = 1
    assert kept(db_session, project, settings).build_ids == sorted(
        [app[0].id, app[1].id, lib[0].id, lib[1].id]
    )
    assert other not in retention.prunable_projects(db_session)


def test_a_repo_another_project_uses_keeps_its_newest_success(
    factory: Factory, db_session: Any, settings: FrontendSettings
) -> None:
    alice = factory.user("alice")
    project = factory.project(alice, "base", chroots=(F42, F41), auto_prune=False,
                              keep_builds=1)  # fmt: skip
    ok = finished(factory, project, "lib", 5)
    failed = finished(factory, project, "lib", 4, StatusEnum.failed)
    # Nobody uses it: only the newest (failed) build stays.
    assert kept(db_session, project, settings).build_ids == [ok.id]
    # The project's own copr:// repo does not count.
    project.additional_repos = ["copr://alice/base"]
    db_session.commit()
    assert kept(db_session, project, settings).build_ids == [ok.id]

    # Another project's chroot points at the f41 results by URL: f41 keeps the success.
    user = factory.project(factory.user("bob"), "user", chroots=(F42, F41))
    user.chroots[1].repos = [f"{settings.results_url}/alice/base/{F41}/?priority=5"]
    db_session.commit()
    plan = kept(db_session, project, settings)
    assert plan.build_ids == [ok.id]
    assert [(c.build_id, c.name) for c in plan.chroots] == [(ok.id, F42)]
    # copr:// in a project's additional_repos covers each of its chroots.
    user.chroots[1].repos = []
    other = factory.project(factory.user("carol"), "other", chroots=(F42,))
    other.additional_repos = ["copr://alice/base"]
    db_session.commit()
    plan = kept(db_session, project, settings)
    assert [(c.build_id, c.name) for c in plan.chroots] == [(ok.id, F41)]
    # A disabled chroot uses nothing.
    other.chroots[0].deleted = True
    db_session.commit()
    assert kept(db_session, project, settings).build_ids == [ok.id]
    assert failed.id not in kept(db_session, project, settings).build_ids


def test_prune_removes_the_rows_and_queues_one_action(
    factory: Factory, db_session: Any, settings: FrontendSettings
) -> None:
    project = factory.project(factory.user("alice"), "proj", chroots=(F42, F41))
    gone = finished(factory, project, "app", 40)
    middle = finished(factory, project, "app", 30)  # the newest success in f41 only
    mixed = finished(factory, project, "app", 25, per_chroot={F41: StatusEnum.failed})
    plan = kept(db_session, project, settings)
    action = retention.prune(db_session, plan)
    db_session.commit()
    assert action is not None
    assert (action.action_type, action.object_type) == (ActionTypeEnum.delete, "builds")
    assert action.project_id == project.id
    assert action.data == {
        "ownername": "alice",
        "projectname": "proj",
        "project_dirnames": {"proj": {
            F42: [f"{gone.id:08d}-app", f"{middle.id:08d}-app"],
            F41: [f"{gone.id:08d}-app", f"{mixed.id:08d}-app"],
            "srpm-builds": [f"{gone.id:08d}"],
        }},
        "build_ids": [gone.id, middle.id, mixed.id],
        "reason": "prune",
    }  # fmt: skip
    db_session.expire_all()
    assert db_session.get(Build, gone.id) is None
    assert [c.name for c in db_session.get(Build, middle.id).chroots] == [F41]
    left = db_session.get(Build, mixed.id)
    assert [c.name for c in left.chroots] == [F42]
    assert left.state == StatusEnum.succeeded
    # Pruning again finds nothing, and queues nothing.
    assert retention.prune(db_session, kept(db_session, project, settings)) is None


@pytest.fixture
def run(settings: FrontendSettings) -> Any:
    env = {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
        "COPR_FRONTEND_RESULTS_URL": settings.results_url,
    }
    return lambda *args: CliRunner().invoke(main, list(args), env=env)


def test_prune_builds_command(run: Any, factory: Factory, db_session: Any) -> None:
    project = factory.project(factory.user("alice"), "proj", chroots=(F42,))
    gone = finished(factory, project, "app", 40).id
    finished(factory, project, "app", 30)
    manual = factory.project(factory.user("bob"), "manual", chroots=(F42,), auto_prune=False)
    finished(factory, manual, "app", 40)
    finished(factory, manual, "app", 30)

    result = run("prune-builds", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output == f"alice/proj: would prune builds {gone}\n1 builds would be pruned\n"
    db_session.expire_all()
    assert db_session.get(Build, gone) is not None
    assert db_session.scalars(select(Action)).all() == []

    result = run("prune-builds")
    assert result.exit_code == 0, result.output
    assert result.output == f"alice/proj: pruned builds {gone}\n1 builds pruned\n"
    db_session.expire_all()
    assert db_session.get(Build, gone) is None
    (action,) = db_session.scalars(select(Action)).all()
    assert action.project_id == project.id
    assert json.dumps(action.data["build_ids"]) == f"[{gone}]"
    assert run("prune-builds").output == "0 builds pruned\n"


def test_remove_expired_projects_command(run: Any, factory: Factory, db_session: Any) -> None:
    alice = factory.user("alice")
    expired = factory.project(alice, "old", delete_after=now() - 60)
    finished(factory, expired, "app", 1)
    factory.project(alice, "later", delete_after=now() + DAY)
    factory.project(alice, "kept")
    result = run("remove-expired-projects")
    assert result.exit_code == 0, result.output
    assert result.output == "removed alice/old\n1 expired projects removed\n"
    db_session.expire_all()
    names = db_session.scalars(select(Project.name).order_by(Project.name)).all()
    assert names == ["kept", "later"]
    (action,) = db_session.scalars(select(Action)).all()
    assert (action.action_type, action.object_type, action.old_value) == (
        ActionTypeEnum.delete, "copr", "alice/old",
    )  # fmt: skip
    assert action.data["project_dirnames"] == ["old"]
    assert db_session.scalars(select(BuildChroot)).all() == []
