"""Rebuilding dependents in the web UI: the project setting on the new-project and edit
pages, and what a build page says about the wave that queued it (its trigger, its
progress, the cycles it broke) with the button that cancels the wave."""

from __future__ import annotations

import html

from copr_common.enums import PermissionEnum, StatusEnum
from copr_frontend.builds.models import Build, RebuildWave
from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project
from copr_frontend.testing import Factory

from .conftest import csrf_token, log_in

CHROOT = "fedora-42-x86_64"


def _form(token: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": token, "chroots": CHROOT, **fields}


def test_a_new_project_gets_the_chosen_mode(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    factory.mock_chroot(CHROOT)
    log_in(client, owner)
    page = client.get("/coprs/owner/add/").get_data(as_text=True)
    for mode in ("off", "direct", "transitive"):
        assert f'id="f-rebuild_dependents-{mode}"' in page
    assert 'value="off" id="f-rebuild_dependents-off" checked' in page
    token = csrf_token(client, "/coprs/owner/add/")
    response = client.post(
        "/coprs/owner/add/", data=_form(token, name="direct", rebuild_dependents="direct")
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    project = get_project(db_session, "owner", "direct")
    assert project is not None
    assert project.rebuild_dependents == "direct"
    # Left out, the default.
    response = client.post("/coprs/owner/add/", data=_form(token, name="plain"))
    assert response.status_code == 303
    assert get_project(db_session, "owner", "plain").rebuild_dependents == "off"  # type: ignore[union-attr]


def test_a_new_project_with_a_bad_mode_is_refused(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    factory.mock_chroot(CHROOT)
    log_in(client, owner)
    token = csrf_token(client, "/coprs/owner/add/")
    response = client.post(
        "/coprs/owner/add/", data=_form(token, name="bad", rebuild_dependents="sometimes")
    )
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert 'id="rebuild_dependents-errors"' in page
    assert "must be one of off, direct, transitive; got 'sometimes'" in page
    assert get_project(db_session, "owner", "bad") is None


def test_the_edit_page_changes_the_mode(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "hello", chroots=(CHROOT,), rebuild_dependents="direct")
    log_in(client, owner)
    path = "/coprs/owner/hello/edit/"
    page = client.get(path).get_data(as_text=True)
    assert 'value="direct" id="f-rebuild_dependents-direct" checked' in page
    assert "build-require it" in page  # each choice says what it does
    token = csrf_token(client, path)
    response = client.post(path, data=_form(token, rebuild_dependents="transitive"))
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    db_session.expire_all()
    assert db_session.get(Project, project.id).rebuild_dependents == "transitive"  # type: ignore[union-attr]

    response = client.post(path, data=_form(token, rebuild_dependents="Transitive "))
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "must be one of off, direct, transitive; got 'Transitive '" in page
    assert "checked" not in page.split('name="rebuild_dependents"', 1)[1].split("</fieldset>")[0]
    db_session.expire_all()
    assert db_session.get(Project, project.id).rebuild_dependents == "transitive"  # type: ignore[union-attr]


def test_only_admins_edit_the_mode(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "hello", chroots=(CHROOT,))
    builder = factory.user("builder")
    factory.grant(project, builder, builder=PermissionEnum.approved)
    log_in(client, builder)
    token = csrf_token(client, "/coprs/owner/hello/")
    form = _form(token, rebuild_dependents="direct")
    response = client.post("/coprs/owner/hello/edit/", data=form)
    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.get(Project, project.id).rebuild_dependents == "off"  # type: ignore[union-attr]


def _wave(factory: Factory, trigger: Build, project: Project, packages: list[str],
          cycles: list[list[str]] | None = None) -> list[Build]:  # fmt: skip
    """A wave started by ``trigger`` with a waiting rebuild of each of ``packages`` in
    ``project``, as :mod:`copr_frontend.builds.dependents` queues them."""
    wave = RebuildWave(project=trigger.project, trigger_build_id=trigger.id, cycles=cycles or [])
    factory.session.add(wave)
    builds = []
    for name in packages:
        build = factory.build(project, package=factory.package(project, name),
                              triggered_by_id=trigger.id)  # fmt: skip
        build.rebuild_wave = wave
        builds.append(build)
    factory.session.commit()
    return builds


def _page(client, build: Build) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/coprs/{build.project.full_name}/build/{build.id}/")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_the_build_page_says_what_triggered_it(client, factory: Factory) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "lib", chroots=(CHROOT,))
    trigger = factory.build(project, package=factory.package(project, "A"),
                            source_status=StatusEnum.succeeded,
                            chroot_status=StatusEnum.succeeded)  # fmt: skip
    label = f"{project.full_name}/"
    cycles = [[label + "B", label + "C"], [label + "C", label + "D", label + "E"]]
    b, c = _wave(factory, trigger, project, ["B", "C"], cycles=cycles)
    page = _page(client, b)
    assert (
        f'Triggered by <a href="/coprs/owner/lib/build/{trigger.id}/">build {trigger.id}</a> '
        "of package A." in page
    )
    assert f"Wave {b.rebuild_wave_id}: 2 builds, 2 not ended yet." in page
    assert "This wave broke the dependency cycle owner/lib/B → owner/lib/C → owner/lib/B." in page
    assert "owner/lib/C → owner/lib/D → owner/lib/E → owner/lib/C." in page
    assert "Cancel the wave" not in page  # an anonymous visitor
    # A build no wave queued says nothing of one.
    assert "Rebuild of dependents" not in _page(client, trigger)
    assert "Triggered by" not in _page(client, trigger)


def test_a_rebuild_in_another_project_links_to_the_trigger(client, factory: Factory) -> None:
    base = factory.project(factory.user("base"), "lib", chroots=(CHROOT,))
    trigger = factory.build(base, package=factory.package(base, "A"))
    app = factory.project(factory.user("app"), "app", chroots=(CHROOT,),
                          additional_repos=["copr://base/lib"],
                          rebuild_dependents="direct")  # fmt: skip
    (x,) = _wave(factory, trigger, app, ["X"])
    page = _page(client, x)
    assert (
        f'Triggered by <a href="/coprs/base/lib/build/{trigger.id}/">build {trigger.id}</a> '
        "of package A in base/lib." in page
    )
    assert f"Wave {x.rebuild_wave_id}: 1 build, 1 not ended yet." in page
    assert "dependency cycle" not in page
    # The trigger's project may cancel the wave; the consumer's owner may not.
    log_in(client, app.user)
    assert "Cancel the wave" not in _page(client, x)
    log_in(client, base.user)
    assert "Cancel the wave" in _page(client, x)


def test_the_trigger_pruned(client, factory: Factory, db_session) -> None:
    project = factory.project(factory.user("owner"), "lib", chroots=(CHROOT,))
    trigger = factory.build(project, package=factory.package(project, "A"),
                            source_status=StatusEnum.succeeded,
                            chroot_status=StatusEnum.succeeded)  # fmt: skip
    (b,) = _wave(factory, trigger, project, ["B"])
    trigger_id = trigger.id
    db_session.delete(trigger)
    db_session.commit()
    db_session.expire_all()
    assert f"Triggered by build {trigger_id}, since deleted." in _page(client, b)


def test_builders_cancel_the_wave(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "lib", chroots=(CHROOT,))
    builder = factory.user("builder")
    factory.grant(project, builder, builder=PermissionEnum.approved)
    trigger = factory.build(project, package=factory.package(project, "A"))
    b, c = _wave(factory, trigger, project, ["B", "C"])
    other = factory.build(project, package=factory.package(project, "D"))
    path = f"/coprs/owner/lib/build/{c.id}/"
    button = f"/coprs/owner/lib/cancel_wave/{c.id}/"
    log_in(client, builder)
    assert button in client.get(path).get_data(as_text=True)
    response = client.post(button, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303
    assert response.headers["Location"] == path
    db_session.expire_all()
    assert b.canceled
    assert c.canceled
    assert b.state == StatusEnum.canceled
    assert not other.canceled
    assert not trigger.canceled
    page = _page(client, c)
    assert f"Canceled builds of wave {c.rebuild_wave_id}: {b.id}, {c.id}" in page
    assert "2 builds, 0 not ended yet." in page
    assert button not in page  # nothing is left to cancel
    client.post(button, data={"csrf_token": csrf_token(client, path)})
    assert f"No build of wave {c.rebuild_wave_id} was left to cancel." in _page(client, c)


def test_others_may_not_cancel_the_wave(client, factory: Factory, db_session) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "lib", chroots=(CHROOT,))
    trigger = factory.build(project, package=factory.package(project, "A"))
    (b,) = _wave(factory, trigger, project, ["B"])
    path = f"/coprs/owner/lib/build/{b.id}/"
    button = f"/coprs/owner/lib/cancel_wave/{b.id}/"
    assert client.post(button, data={}).status_code == 400  # no CSRF token
    response = client.post(button, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302  # anonymous: to the login page
    assert response.headers["Location"].startswith("/login/?next=")
    stranger = factory.user("stranger")
    log_in(client, stranger)
    assert button not in client.get(path).get_data(as_text=True)
    response = client.post(button, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403
    db_session.expire_all()
    assert not b.canceled
    assert b.state == StatusEnum.pending
    # A build no wave queued, or of another project: 404.
    log_in(client, owner)
    token = csrf_token(client)
    response = client.post(f"/coprs/owner/lib/cancel_wave/{trigger.id}/",
                           data={"csrf_token": token})  # fmt: skip
    assert response.status_code == 404
    elsewhere = factory.project(owner, "other", chroots=(CHROOT,))
    response = client.post(f"/coprs/owner/other/cancel_wave/{b.id}/", data={"csrf_token": token})
    assert response.status_code == 404
    assert elsewhere.id != project.id
    db_session.expire_all()
    assert not b.canceled
