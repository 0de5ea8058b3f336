"""Rebuilding dependents, driven through the backend's reports (builds.dependents)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build, PackageDependencies, RebuildWave
from copr_frontend.projects.models import Project
from copr_frontend.quotas import logic as quotas
from copr_frontend.testing import Factory

CHROOTS = ("fedora-42-x86_64", "epel-9-x86_64")


def succeed(
    client: FlaskClient,
    factory: Factory,
    project: Project,
    name: str,
    provides: list[str],
    requires: list[str],
    headers: dict[str, str],
    chroots: tuple[str, ...] = CHROOTS,
    build: Build | None = None,
) -> Build:
    """A build of ``name`` whose chroots the backend reports succeeded with these deps."""
    if build is None:
        package = next((p for p in project.packages if p.name == name), None)
        package = package or factory.package(project, name)
        build = factory.build(project, package=package, source_status=StatusEnum.succeeded)
        for chroot in build.chroots:
            chroot.status = StatusEnum.pending
        factory.session.commit()
    for c in chroots:
        entry = {"id": build.id, "task_id": f"{build.id}-{c}", "chroot": c, "status": 1,
                 "provides": provides, "requires": requires}  # fmt: skip
        response = client.post("/backend/update/", json={"builds": [entry]}, headers=headers)
        assert response.status_code == 200, response.data
    factory.session.expire_all()
    return build


def wave_of(factory: Factory, trigger: Build) -> list[Build]:
    factory.session.expire_all()
    query = select(Build).where(Build.triggered_by_id == trigger.id).order_by(Build.id)
    return list(factory.session.scalars(query))


def chain(client: Any, factory: Factory, headers: dict[str, str], mode: str) -> Project:
    project = factory.project(factory.user(), "chain", chroots=CHROOTS, rebuild_dependents=mode)
    succeed(client, factory, project, "A", ["A = 1-1", "libA.so.1()(64bit)"], [], headers)
    succeed(client, factory, project, "B", ["B = 1-1", "/usr/bin/b"], ["A >= 1"], headers)
    succeed(client, factory, project, "C", ["C = 1-1"], ["/usr/bin/b"], headers)
    return project


def test_transitive_rebuilds_b_then_c(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "transitive")
    trigger = succeed(client, factory, project, "A", ["A = 2-1"], [], backend_headers)
    rebuilt = wave_of(factory, trigger)
    assert [b.package_name for b in rebuilt] == ["B", "C"]
    b, c = rebuilt
    assert c.batch is not None
    assert b.batch is not None
    assert c.batch.blocked_by_id == b.batch.id
    assert sorted(ch.name for ch in b.chroots) == sorted(CHROOTS)
    assert b.submitted_by == "rebuild of dependents"
    assert b.state == StatusEnum.pending
    data = client.get(f"/api_3/build/{c.id}").get_json()
    assert data["triggered_by"] == {
        "build_id": trigger.id,
        "package_name": "A",
        "project": project.full_name,
        "wave_id": c.rebuild_wave_id,
    }
    assert client.get(f"/api_3/build/{trigger.id}").get_json()["triggered_by"] is None
    # A page of builds (serialized from plain columns) says the same.
    query = f"ownername={project.ownername}&projectname={project.name}"
    listed = {b["id"]: b for b in client.get(f"/api_3/build/list?{query}").get_json()["items"]}
    assert listed[c.id]["triggered_by"] == data["triggered_by"]
    assert listed[trigger.id]["triggered_by"] is None


def test_direct_rebuilds_only_b_and_off_none(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "direct")
    trigger = succeed(client, factory, project, "A", ["A = 2-1"], [], backend_headers)
    assert [b.package_name for b in wave_of(factory, trigger)] == ["B"]

    off = factory.project(factory.user(), "off", chroots=CHROOTS)
    succeed(client, factory, off, "A", ["A = 1-1"], [], backend_headers)
    succeed(client, factory, off, "B", ["B = 1-1"], ["A"], backend_headers)
    trigger = succeed(client, factory, off, "A", ["A = 2-1"], [], backend_headers)
    assert wave_of(factory, trigger) == []


def test_unchanged_provides_rebuild_nothing(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "transitive")
    trigger = succeed(client, factory, project, "A", ["A = 1-1", "libA.so.1()(64bit)"], [],
                      backend_headers)  # fmt: skip
    assert wave_of(factory, trigger) == []


def test_only_changed_chroots_are_rebuilt(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "direct")
    package = next(p for p in project.packages if p.name == "A")
    build = factory.build(project, package=package, source_status=StatusEnum.succeeded)
    for chroot in build.chroots:
        chroot.status = StatusEnum.pending
    factory.session.commit()
    succeed(client, factory, project, "A", ["A = 1-1", "libA.so.1()(64bit)"], [],
            backend_headers, chroots=("fedora-42-x86_64",), build=build)  # fmt: skip
    succeed(client, factory, project, "A", ["A = 2-1"], [], backend_headers,
            chroots=("epel-9-x86_64",), build=build)  # fmt: skip
    (b,) = wave_of(factory, build)
    assert [c.name for c in b.chroots] == ["epel-9-x86_64"]


def test_a_cycle_is_reported_and_each_built_once(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user(), "cycle", chroots=CHROOTS,
                              rebuild_dependents="transitive")  # fmt: skip
    succeed(client, factory, project, "A", ["A = 1-1"], ["B"], backend_headers)
    succeed(client, factory, project, "B", ["B = 1-1"], ["A"], backend_headers)
    trigger = succeed(client, factory, project, "A", ["A = 2-1"], ["B"], backend_headers)
    rebuilt = wave_of(factory, trigger)
    assert [b.package_name for b in rebuilt] == ["B"]
    wave = factory.session.get(RebuildWave, rebuilt[0].rebuild_wave_id)
    assert wave is not None
    assert wave.cycles == [[f"{project.full_name}/A", f"{project.full_name}/B"]]
    assert client.get(f"/api_3/build/wave/{wave.id}").get_json() == {
        "id": wave.id,
        "project": project.full_name,
        "trigger_build_id": trigger.id,
        "created_on": wave.created_on,
        "builds": [rebuilt[0].id],
        "cycles": [[f"{project.full_name}/A", f"{project.full_name}/B"]],
    }
    # B's rebuild succeeding starts no second wave: A is not built again.
    succeed(client, factory, project, "B", ["B = 1-1"], ["A"], backend_headers, build=rebuilt[0])
    assert wave_of(factory, rebuilt[0]) == []


def test_a_longer_cycle_is_reported_in_its_order(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user(), "ring", chroots=CHROOTS)
    succeed(client, factory, project, "T", ["T = 1-1"], [], backend_headers)
    # X needs T and Z, Y needs X, Z needs Y: the cycle X -> Z -> Y -> X.
    succeed(client, factory, project, "X", ["X = 1-1"], ["T", "Z"], backend_headers)
    succeed(client, factory, project, "Y", ["Y = 1-1"], ["X"], backend_headers)
    succeed(client, factory, project, "Z", ["Z = 1-1"], ["Y"], backend_headers)
    project.rebuild_dependents = "transitive"  # on only now: the ring closing queues nothing
    factory.session.commit()
    trigger = succeed(client, factory, project, "T", ["T = 2-1"], [], backend_headers)
    rebuilt = {b.package_name: b for b in wave_of(factory, trigger)}
    assert sorted(rebuilt) == ["X", "Y", "Z"]
    # Broken at X (first by name): X first, then Y, then Z.
    x, y, z = rebuilt["X"], rebuilt["Y"], rebuilt["Z"]
    batches = [x.batch, y.batch, z.batch]
    assert None not in batches
    assert [b.blocked_by_id for b in batches] == [None, batches[0].id, batches[1].id]  # type: ignore[union-attr]
    data = client.get(f"/api_3/build/wave/{x.rebuild_wave_id}").get_json()
    name = project.full_name
    assert data["cycles"] == [[f"{name}/X", f"{name}/Z", f"{name}/Y"]]
    assert data["builds"] == sorted(b.id for b in rebuilt.values())
    page = client.get(f"/coprs/{name}/build/{y.id}/").get_data(as_text=True)
    assert f"cycle {name}/X → {name}/Z → {name}/Y → {name}/X." in page


def test_an_unknown_wave_is_a_404(client) -> None:  # type: ignore[no-untyped-def]
    for wave_id in (999999, 0, 2**40):
        response = client.get(f"/api_3/build/wave/{wave_id}")
        assert response.status_code == 404, wave_id
        assert "does not exist" in response.get_json()["error"]
    assert client.put(f"/api_3/build/cancel-wave/{2**40}").status_code == 401


def test_a_consumer_project_rebuilds_its_dependent(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    base = factory.project(factory.user("base"), "lib", chroots=CHROOTS)
    succeed(client, factory, base, "A", ["A = 1-1"], [], backend_headers)
    consumer = factory.project(factory.user("app"), "app", chroots=CHROOTS,
                               additional_repos=["copr://base/lib"],
                               rebuild_dependents="direct")  # fmt: skip
    succeed(client, factory, consumer, "X", ["X = 1-1"], ["A"], backend_headers)
    ignoring = factory.project(factory.user("other"), "other", chroots=CHROOTS,
                               additional_repos=["copr://base/lib"])  # fmt: skip
    succeed(client, factory, ignoring, "Y", ["Y = 1-1"], ["A"], backend_headers)
    trigger = succeed(client, factory, base, "A", ["A = 2-1"], [], backend_headers)
    rebuilt = wave_of(factory, trigger)
    assert [(b.project.full_name, b.package_name) for b in rebuilt] == [("app/app", "X")]


def test_an_owner_over_quota_gets_no_rebuild(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    base = factory.project(factory.user("base"), "lib", chroots=CHROOTS,
                           rebuild_dependents="direct")  # fmt: skip
    succeed(client, factory, base, "A", ["A = 1-1"], [], backend_headers)
    succeed(client, factory, base, "B", ["B = 1-1"], ["A"], backend_headers)
    consumer = factory.project(factory.user("app"), "app", chroots=CHROOTS,
                               additional_repos=["copr://base/lib"],
                               rebuild_dependents="direct")  # fmt: skip
    succeed(client, factory, consumer, "X", ["X = 1-1"], ["A"], backend_headers)
    quotas.set_limit(factory.session, "app", 0)  # used up: 0 of 0 bytes
    factory.session.commit()
    trigger = succeed(client, factory, base, "A", ["A = 2-1"], [], backend_headers)
    # base's own dependent is rebuilt; app, whose quota is used up, gets nothing.
    assert [(b.project.full_name, b.package_name) for b in wave_of(factory, trigger)] == [
        ("base/lib", "B")
    ]


def test_a_dependent_already_queued_is_not_queued_twice(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "direct")
    b_package = next(p for p in project.packages if p.name == "B")
    waiting = factory.build(project, package=b_package, chroots=["fedora-42-x86_64"])
    trigger = succeed(client, factory, project, "A", ["A = 2-1"], [], backend_headers)
    (b,) = wave_of(factory, trigger)
    assert b.id != waiting.id
    assert [c.name for c in b.chroots] == ["epel-9-x86_64"]


def test_cancel_a_wave(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = chain(client, factory, backend_headers, "transitive")
    trigger = succeed(client, factory, project, "A", ["A = 2-1"], [], backend_headers)
    rebuilt = wave_of(factory, trigger)
    wave_id = rebuilt[0].rebuild_wave_id

    assert client.put("/api_3/build/cancel-wave/999999",
                      headers=factory.auth(project.user)).status_code == 404  # fmt: skip
    stranger = factory.user("stranger")
    response = client.put(f"/api_3/build/cancel-wave/{wave_id}", headers=factory.auth(stranger))
    assert response.status_code == 403
    assert all(not b.canceled for b in wave_of(factory, trigger))
    assert client.put(f"/api_3/build/cancel-wave/{2**40}",
                      headers=factory.auth(project.user)).status_code == 404  # fmt: skip

    response = client.put(f"/api_3/build/cancel-wave/{wave_id}",
                          headers=factory.auth(project.user))  # fmt: skip
    assert response.status_code == 200, response.data
    assert response.get_json()["builds"] == [b.id for b in rebuilt]
    assert all(b.canceled for b in wave_of(factory, trigger))


def test_bad_dependency_reports_store_nothing(client, factory, backend_headers) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user(), "bad", chroots=CHROOTS)
    package = factory.package(project, "A")
    build = factory.build(project, package=package, source_status=StatusEnum.succeeded,
                          chroots=["fedora-42-x86_64"])  # fmt: skip
    build.chroots[0].status = StatusEnum.pending
    factory.session.commit()
    base = {"id": build.id, "task_id": f"{build.id}-fedora-42-x86_64",
            "chroot": "fedora-42-x86_64", "status": 1}  # fmt: skip
    for bad in [{"provides": "A"}, {"requires": [1]}, {"provides": [""]},
                {"provides": ["x" * 1001]}]:  # fmt: skip
        response = client.post("/backend/update/", json={"builds": [{**base, **bad}]},
                               headers=backend_headers)  # fmt: skip
        assert response.status_code == 400, bad
        assert "must be a list" in response.get_json()["error"]
    factory.session.expire_all()
    assert factory.session.get(Build, build.id).chroots[0].status == StatusEnum.pending  # type: ignore[union-attr]
    assert factory.session.scalars(select(PackageDependencies)).all() == []
    # An older backend sends neither: the report is applied, nothing kept.
    response = client.post("/backend/update/", json={"builds": [base]}, headers=backend_headers)
    assert response.status_code == 200
    assert factory.session.scalars(select(PackageDependencies)).all() == []


def test_the_setting_through_api_v3(client, factory) -> None:  # type: ignore[no-untyped-def]
    user = factory.user("setter")
    project = factory.project(user, "setting", chroots=CHROOTS)
    path = f"/api_3/project/edit/{user.name}/setting"
    response = client.put(path, json={"rebuild_dependents": "sometimes"},
                           headers=factory.auth(user))  # fmt: skip
    assert response.status_code == 400
    assert "rebuild_dependents" in response.get_json()["error"]
    factory.session.expire_all()
    assert factory.session.get(Project, project.id).rebuild_dependents == "off"  # type: ignore[union-attr]
    response = client.put(path, json={"rebuild_dependents": "transitive"},
                           headers=factory.auth(user))  # fmt: skip
    assert response.status_code == 200, response.data
    assert response.get_json()["rebuild_dependents"] == "transitive"
