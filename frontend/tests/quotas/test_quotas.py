"""Storage quotas: the backend's result sizes stored per task, sums per project and
owner in API v3, the limit (default, an admin's override), and a submission by an owner
at the limit refused with usage and limit named and nothing stored."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from copr_common.enums import StatusEnum
from copr_frontend.builds import retention
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.cli import main
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.quotas import logic as quotas
from copr_frontend.quotas.logic import format_size, parse_size
from copr_frontend.quotas.models import OwnerQuota
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

CHROOTS = ["fedora-41-x86_64", "fedora-42-x86_64"]
MB = 1024**2


@pytest.fixture
def settings(settings: FrontendSettings) -> FrontendSettings:
    return FrontendSettings.model_validate(
        {**settings.model_dump(), "storage_quota_default": 10 * MB}
    )


@pytest.fixture
def alice(factory: Factory) -> User:
    return factory.user("alice")


@pytest.fixture
def project(factory: Factory, alice: User) -> Project:
    return factory.project(alice, "big", chroots=CHROOTS)


def report(
    client: flask.testing.FlaskClient, headers: dict[str, str], *entries: dict[str, Any]
) -> flask.Response:
    return client.post("/backend/update/", json={"builds": list(entries)}, headers=headers)


def stored_build(
    client: flask.testing.FlaskClient,
    headers: dict[str, str],
    factory: Factory,
    project: Project,
    source_size: int,
    chroot_sizes: tuple[int, int],
) -> Build:
    """A build whose source build and two chroots ended, the backend reporting sizes."""
    build = factory.build(project, source_status=StatusEnum.running)
    answer = report(client, headers, {"id": build.id, "task_id": str(build.id), "status": 1,
                                      "pkg_name": "hello", "result_size": source_size})  # fmt: skip
    assert answer.status_code == 200, answer.json
    for name, size in zip(CHROOTS, chroot_sizes, strict=True):
        chroot = next(c for c in build.chroots if c.name == name)
        factory.session.expire_all()
        found = factory.session.get(BuildChroot, chroot.id)
        assert found is not None
        # Imported and started (the import is not this test's subject).
        found.build.source_status = StatusEnum.succeeded
        found.status = StatusEnum.running
        factory.session.commit()
        entry = {"id": build.id, "task_id": f"{build.id}-{name}", "chroot": name, "status": 1,
                 "result_size": size}  # fmt: skip
        answer = report(client, headers, entry)
        assert answer.status_code == 200, answer.json
    return build


def test_sizes_are_stored_per_task_and_summed_per_project_and_owner(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
) -> None:
    build = stored_build(client, backend_headers, factory, project, 1000, (2 * MB, 3 * MB))
    other = factory.project(alice, "small", chroots=CHROOTS[:1])
    small = factory.build(other, source_status=StatusEnum.running)
    report(client, backend_headers, {"id": small.id, "task_id": str(small.id), "status": 0,
                                     "result_size": 500})  # fmt: skip
    db_session.expire_all()
    fresh = db_session.get(Build, build.id)
    assert fresh is not None
    assert fresh.source_result_size == 1000
    assert sorted(c.result_size or 0 for c in fresh.chroots) == [2 * MB, 3 * MB]

    quota = client.get("/api_3/quota/alice")
    assert quota.status_code == 200
    assert quota.json == {
        "ownername": "alice",
        "usage": 5 * MB + 1500,
        "limit": 10 * MB,
        "limit_source": "default",
        "exceeded": False,
        "projects": [{"name": "big", "usage": 5 * MB + 1000}, {"name": "small", "usage": 500}],
    }
    assert client.get("/api_3/quota", query_string={"ownername": "alice"}).json == quota.json
    shown = client.get("/api_3/project", query_string={"ownername": "alice", "projectname": "big"})
    assert shown.json["storage_usage"] == 5 * MB + 1000
    listed = client.get("/api_3/project/list", query_string={"ownername": "alice"}).json
    assert {p["name"]: p["storage_usage"] for p in listed["items"]} == {
        "big": 5 * MB + 1000,
        "small": 500,
    }
    # A deleted build frees its share, however it goes (here: straight through the ORM).
    db_session.delete(db_session.get(Build, build.id))
    db_session.commit()
    assert client.get("/api_3/quota/alice").json["usage"] == 500
    assert quotas.recount(db_session) == {}  # the counters are what the builds hold


def test_an_owner_with_nothing_stored_and_unknown_owners(
    client: flask.testing.FlaskClient, factory: Factory
) -> None:
    group = factory.group("team")
    factory.project(name="shared", group=group)
    quota = client.get("/api_3/quota/@team").json
    assert quota["usage"] == 0
    assert quota["projects"] == [{"name": "shared", "usage": 0}]
    for path in ("/api_3/quota/nobody", "/api_3/quota/@nogroup", "/api_3/quota"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert "does not exist" in missing.json["error"]


@pytest.mark.parametrize("size", [-1, "100", True, 1.5, 2**63])
def test_a_bad_result_size_is_400_and_changes_nothing(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    backend_headers: dict[str, str],
    size: Any,
) -> None:
    build = factory.build(project, source_status=StatusEnum.running)
    answer = report(client, backend_headers, {"id": build.id, "task_id": str(build.id),
                                              "status": 1, "result_size": size})  # fmt: skip
    assert answer.status_code == 400
    assert "result_size" in answer.json["error"]
    db_session.expire_all()
    fresh = db_session.get(Build, build.id)
    assert fresh is not None
    assert (fresh.source_status, fresh.source_result_size) == (StatusEnum.running, None)


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_user_at_their_quota_is_refused_and_nothing_is_stored(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
) -> None:
    auth = factory.auth(alice)
    body = {"ownername": "alice", "projectname": "big", "pkgs": ["https://example.org/a.src.rpm"]}
    # Under the limit: accepted, even when that build will take the owner past it.
    assert client.post("/api_3/build/create/url", json=body, headers=auth).status_code == 200
    stored_build(client, backend_headers, factory, project, 0, (6 * MB, 4 * MB))
    builds, dirs = _count(db_session, Build), _count(db_session, ProjectDir)

    for path, extra in (
        ("/api_3/build/create/url", {"project_dirname": "big:custom:new"}),
        ("/api_3/build/check-before-build", {}),
    ):
        refused = client.post(path, json={**body, **extra}, headers=auth)
        assert refused.status_code == 400
        error = refused.json["error"]
        assert "storage quota of alice is used up" in error
        assert "10.0 MiB (10485760 bytes) of a limit of 10.0 MiB (10485760 bytes)" in error
    assert (_count(db_session, Build), _count(db_session, ProjectDir)) == (builds, dirs)
    assert client.get("/api_3/quota/alice").json["exceeded"] is True

    # Another owner is not affected.
    bob = factory.user("bob")
    factory.project(bob, "fine", chroots=CHROOTS[:1])
    other = {"ownername": "bob", "projectname": "fine", "pkgs": ["https://example.org/b.src.rpm"]}
    assert client.post("/api_3/build/create/url", json=other,
                       headers=factory.auth(bob)).status_code == 200  # fmt: skip

    # An admin's larger limit lets alice build again.
    db_session.add(OwnerQuota(ownername="alice", limit_bytes=20 * MB))
    db_session.commit()
    assert client.post("/api_3/build/create/url", json=body, headers=auth).status_code == 200
    assert client.get("/api_3/quota/alice").json["limit_source"] == "owner"


@pytest.fixture
def run(settings: FrontendSettings):  # type: ignore[no-untyped-def]
    env = {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
        "COPR_FRONTEND_STORAGE_QUOTA_DEFAULT": str(10 * MB),
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def test_an_admin_sets_and_drops_overrides(  # type: ignore[no-untyped-def]
    run, db_session: Session, factory: Factory, alice: User
) -> None:
    shown = run("set-quota", "alice")
    assert shown.exit_code == 0, shown.output
    assert shown.output == "alice: 0 B used of 10.0 MiB (the default)\n"
    assert run("set-quota", "alice", "1.5G").output == (
        "alice: 0 B used of 1.5 GiB (set for the owner)\n"
    )
    db_session.expire_all()
    override = db_session.get(OwnerQuota, "alice")
    assert override is not None
    assert override.limit_bytes == 1536 * MB
    assert "no limit (set for the owner)" in run("set-quota", "alice", "--unlimited").output
    assert "10.0 MiB (the default)" in run("set-quota", "alice", "--default").output
    db_session.expire_all()
    assert db_session.get(OwnerQuota, "alice") is None
    factory.group("team")
    assert run("set-quota", "@team", "512M").exit_code == 0

    for args, message in (
        (("nobody", "1G"), "owner 'nobody' does not exist"),
        (("alice", "lots"), "'lots' is not a size"),
        (("alice", "1G", "--default"), "give one of LIMIT, --unlimited and --default"),
        (("alice", "99999999P"), "larger than the largest size"),
    ):
        result = run("set-quota", *args)
        assert result.exit_code != 0
        assert message in result.output
    db_session.expire_all()
    assert db_session.get(OwnerQuota, "alice") is None


def test_sizes_for_people() -> None:
    assert [format_size(n) for n in (0, 1023, 1024, 1536 * MB, 3 * 1024**5)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 GiB", "3.0 PiB",
    ]  # fmt: skip
    assert [parse_size(t) for t in ("1048576", "512M", "10g", "1.5T", "2 GiB", "1KB")] == [
        MB, 512 * MB, 10 * 1024**3, int(1.5 * 1024**4), 2 * 1024**3, 1024,
    ]  # fmt: skip
    for bad in ("", "-1G", "1X", "G", "1.2.3M"):
        with pytest.raises(ValueError, match="is not a size"):
            parse_size(bad)


def test_a_fork_counts_what_it_copies(
    client: flask.testing.FlaskClient,
    factory: Factory,
    project: Project,
    backend_headers: dict[str, str],
) -> None:
    stored_build(client, backend_headers, factory, project, 1000, (2 * MB, 3 * MB))
    bob = factory.user("bob")
    forked = client.put("/api_3/project/fork/alice/big", headers=factory.auth(bob),
                        json={"name": "copy", "ownername": "bob"})  # fmt: skip
    assert forked.status_code == 200, forked.json
    assert client.get("/api_3/quota/bob").json["usage"] == 5 * MB + 1000
    assert client.get("/api_3/quota/alice").json["usage"] == 5 * MB + 1000
    assert forked.json["storage_usage"] == 5 * MB + 1000


def test_a_fork_past_the_target_owners_quota_is_refused_and_nothing_is_stored(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    backend_headers: dict[str, str],
) -> None:
    stored_build(client, backend_headers, factory, project, 1000, (2 * MB, 3 * MB))
    bob = factory.user("bob")
    db_session.add(OwnerQuota(ownername="bob", limit_bytes=5 * MB))
    db_session.commit()
    projects, builds = _count(db_session, Project), _count(db_session, Build)
    refused = client.put("/api_3/project/fork/alice/big", headers=factory.auth(bob),
                         json={"name": "copy", "ownername": "bob"})  # fmt: skip
    assert refused.status_code == 400
    assert refused.json["error"] == (
        "The fork would copy 5.0 MiB (5243880 bytes) of results, more than the storage "
        "quota of bob holds: its builds take 0 B (0 bytes) of a limit of 5.0 MiB (5242880 "
        "bytes). Delete old builds or projects first, or ask an admin for a larger quota."
    )
    assert (_count(db_session, Project), _count(db_session, Build)) == (projects, builds)
    assert client.get("/api_3/quota/bob").json["usage"] == 0
    # Room for it: the same fork goes through.
    db_session.get(OwnerQuota, "bob").limit_bytes = 6 * MB  # type: ignore[union-attr]
    db_session.commit()
    forked = client.put("/api_3/project/fork/alice/big", headers=factory.auth(bob),
                        json={"name": "copy", "ownername": "bob"})  # fmt: skip
    assert forked.status_code == 200, forked.json


def test_recount_storage_mends_counters_changed_outside_the_orm(  # type: ignore[no-untyped-def]
    run,
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    backend_headers: dict[str, str],
) -> None:
    stored_build(client, backend_headers, factory, project, 1000, (2 * MB, 3 * MB))
    db_session.execute(update(Project).values(storage_usage=7))
    db_session.commit()
    result = run("recount-storage", "alice")
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == f"alice/big: 7 bytes stored, {5 * MB + 1000} counted\n1 projects recounted\n"
    )
    assert client.get("/api_3/quota/alice").json["usage"] == 5 * MB + 1000
    assert run("recount-storage").output == "0 projects recounted\n"


def test_pruning_frees_what_it_removes(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
) -> None:
    older = stored_build(client, backend_headers, factory, project, 1000, (2 * MB, 3 * MB))
    newer = stored_build(client, backend_headers, factory, project, 10, (MB, MB))
    db_session.expire_all()
    gone = next(c for c in db_session.get(Build, newer.id).chroots if c.name == CHROOTS[1])  # type: ignore[union-attr]
    db_session.delete(gone)  # newer is left with CHROOTS[0] only
    fresh = db_session.get(Project, project.id)
    assert fresh is not None
    fresh.keep_builds = 1
    db_session.commit()
    db_session.expire_all()
    plan = retention.plan_pruning(
        db_session, fresh, settings, retention.DependencyIndex(db_session, settings)
    )
    assert [(c.build_id, c.name) for c in plan.chroots] == [(older.id, CHROOTS[0])]
    retention.prune(db_session, plan)
    db_session.commit()
    left = 1000 + 3 * MB + 10 + MB  # older's source and CHROOTS[1], newer's source and CHROOTS[0]
    assert client.get("/api_3/quota/alice").json["usage"] == left
    assert quotas.recount(db_session) == {}
