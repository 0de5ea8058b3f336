"""Every page answers 200 for the visitor it is for, and sends others to the login page
or answers 403; Markdown cannot carry a script; a form without its CSRF token is refused."""

from __future__ import annotations

import pytest

from copr_common.enums import StatusEnum
from copr_frontend.quotas.models import OwnerQuota
from copr_frontend.testing import Factory

from .conftest import csrf_token, log_in


@pytest.fixture
def site(factory: Factory) -> dict:
    owner = factory.user("owner", password="owner-password")
    stranger = factory.user("stranger")
    project = factory.project(
        owner, "hello", chroots=("fedora-42-x86_64", "fedora-43-x86_64"),
        description="A *greeting* <script>alert('x')</script>",
        instructions="[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )  # fmt: skip
    package = factory.package(project, "hello")
    build = factory.build(project, package=package, source_status=StatusEnum.succeeded,
                          chroot_status=StatusEnum.succeeded)  # fmt: skip
    group = factory.group("team", members=[owner])
    group_project = factory.project(owner, "shared", group=group)
    return {"owner": owner, "stranger": stranger, "project": project, "build": build,
            "group_project": group_project}  # fmt: skip


PUBLIC = [
    "/", "/coprs/", "/coprs/owner/", "/coprs/g/team/", "/coprs/fulltext/?fulltext=hello",
    "/coprs/owner/hello/", "/coprs/owner/hello/builds/", "/coprs/owner/hello/packages/",
    "/coprs/owner/hello/package/hello/", "/coprs/owner/hello/monitor/",
    "/coprs/owner/hello/repositories/", "/coprs/owner/hello/forks/",
    "/coprs/owner/hello/history/",
    "/coprs/g/team/shared/", "/coprs/g/team/shared/builds/",
    "/status/pending/", "/status/running/", "/status/importing/", "/status/stats/",
    "/status/builders/", "/rss/", "/login/",
]  # fmt: skip
ADMIN_ONLY = [
    "/coprs/owner/hello/edit/", "/coprs/owner/hello/edit_chroot/fedora-42-x86_64/",
    "/coprs/owner/hello/integrations/", "/coprs/owner/hello/delete/",
]  # fmt: skip
BUILDER_ONLY = [
    "/coprs/owner/hello/add_build/", "/coprs/owner/hello/add_build_upload/",
    "/coprs/owner/hello/add_build_url/", "/coprs/owner/hello/add_build_scm/",
    "/coprs/owner/hello/add_build_pypi/", "/coprs/owner/hello/add_build_rubygems/",
    "/coprs/owner/hello/add_build_custom/", "/coprs/owner/hello/add_build_distgit/",
    "/coprs/owner/hello/package/new/scm/", "/coprs/owner/hello/package/hello/rebuild/",
    "/coprs/owner/hello/package/hello/edit/scm/",
]  # fmt: skip
LOGGED_IN = ["/api/", "/coprs/owner/add/", "/coprs/owner/hello/permissions/",
             "/coprs/owner/hello/fork/"]  # fmt: skip


def test_public_pages_answer_anyone(client, site) -> None:
    for path in [*PUBLIC, f"/coprs/owner/hello/build/{site['build'].id}/"]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])


def test_pages_for_the_owner(client, site) -> None:
    log_in(client, site["owner"])
    for path in ADMIN_ONLY + BUILDER_ONLY + LOGGED_IN:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:800])


def test_anonymous_visitors_are_sent_to_the_login(client, site) -> None:
    for path in ADMIN_ONLY + BUILDER_ONLY + LOGGED_IN:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login/?next="), path


def test_strangers_get_the_403_page(client, site) -> None:
    log_in(client, site["stranger"])
    for path in [*ADMIN_ONLY, *BUILDER_ONLY, "/coprs/owner/add/"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Access denied" in response.get_data(as_text=True)


def test_copr_cli_build_url_redirects_to_the_build_page(client, site) -> None:
    build_id = site["build"].id
    for path in (f"/coprs/build/{build_id}", f"/coprs/build/{build_id}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/coprs/owner/hello/build/{build_id}/"
    assert client.get("/coprs/build/999999").status_code == 404


def test_missing_things_get_the_404_page(client, site) -> None:
    for path in ("/coprs/nobody/", "/coprs/owner/nothing/", "/coprs/owner/hello/build/99999/",
                 "/coprs/owner/hello/package/nope/", "/no/such/page"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<html" in response.get_data(as_text=True)
    # The API keeps its JSON errors.
    assert client.get("/api_3/nothing").get_json()["error"]


def test_markdown_with_a_script_renders_inert(client, site) -> None:
    html = client.get("/coprs/owner/hello/").get_data(as_text=True)
    assert "<em>greeting</em>" in html
    assert "<script>alert" not in html
    assert "javascript:" not in html
    assert "onerror" not in html


def test_a_form_without_its_csrf_token_is_refused(client, site, db_session) -> None:
    log_in(client, site["owner"])
    response = client.post(
        "/coprs/owner/add/", data={"name": "sneaky", "chroots": "fedora-42-x86_64"}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    response = client.post("/coprs/owner/hello/delete/", data={"verify": "yes"})
    assert response.status_code == 400
    db_session.expire_all()
    assert client.get("/coprs/owner/sneaky/").status_code == 404
    assert client.get("/coprs/owner/hello/").status_code == 200
    # With the token the same form goes through.
    token = csrf_token(client, "/coprs/owner/add/")
    response = client.post("/coprs/owner/add/", data={"csrf_token": token, "name": "fine",
                           "chroots": "fedora-42-x86_64"})  # fmt: skip
    assert response.status_code == 303
    assert client.get("/coprs/owner/fine/").status_code == 200


def test_every_bad_field_is_shown_next_to_itself(client, site, db_session) -> None:
    """The API lists every problem (``<field>: <message>`` per line); the form puts each
    next to its field, keeps what was typed, and stores nothing."""
    log_in(client, site["owner"])
    token = csrf_token(client, "/coprs/owner/add/")
    response = client.post("/coprs/owner/add/", data={
        "csrf_token": token, "name": "bad name!", "chroots": "no-such-chroot",
        "description": "kept text",
    })  # fmt: skip
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    name_errors = html.split('id="name-errors">', 1)[1].split("</div></div>", 1)[0]
    chroot_errors = html.split('id="chroots-errors">', 1)[1].split("</div></div>", 1)[0]
    assert "name" in name_errors
    assert "no-such-chroot" in chroot_errors
    # Under its label, a field's message does not repeat the field's name.
    assert ">name:" not in name_errors
    assert ">chroots:" not in chroot_errors
    assert "kept text" in html
    db_session.expire_all()
    assert client.get("/coprs/owner/bad%20name!/").status_code == 404


def test_an_unknown_chroot_in_the_settings_is_an_error_not_a_crash(client, site) -> None:
    log_in(client, site["owner"])
    token = csrf_token(client, "/coprs/owner/hello/edit/")
    response = client.post("/coprs/owner/hello/edit/", data={
        "csrf_token": token, "chroots": "no-such-chroot", "homepage": "ftp://x",
    })  # fmt: skip
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="chroots-errors"' in html
    assert 'id="homepage-errors"' in html
    page = client.get("/coprs/owner/hello/").get_data(as_text=True)
    assert "fedora-42-x86_64" in page  # the chroots stay as they were


def test_keep_builds_in_the_settings_form(client, site, db_session) -> None:
    log_in(client, site["owner"])
    project = site["project"]
    form = {"chroots": ["fedora-42-x86_64", "fedora-43-x86_64"]}
    token = csrf_token(client, "/coprs/owner/hello/edit/")
    response = client.post("/coprs/owner/hello/edit/",
                           data={**form, "csrf_token": token, "keep_builds": "-1"})  # fmt: skip
    assert response.status_code == 400
    assert 'id="keep_builds-errors"' in response.get_data(as_text=True)
    db_session.expire_all()
    assert project.keep_builds is None
    response = client.post("/coprs/owner/hello/edit/",
                           data={**form, "csrf_token": token, "keep_builds": "4"})  # fmt: skip
    assert response.status_code == 303
    db_session.expire_all()
    assert project.keep_builds == 4
    assert 'name="keep_builds" value="4"' in client.get("/coprs/owner/hello/edit/").get_data(
        as_text=True
    )
    # Emptied, the field lifts the limit.
    client.post("/coprs/owner/hello/edit/", data={**form, "csrf_token": token, "keep_builds": ""})
    db_session.expire_all()
    assert project.keep_builds is None


def test_the_settings_page_opts_the_project_in_to_build_email(client, site, db_session) -> None:
    log_in(client, site["owner"])
    page = client.get("/coprs/owner/hello/edit/").get_data(as_text=True)
    assert 'name="email_notifications"' in page
    token = csrf_token(client, "/coprs/owner/hello/edit/")
    response = client.post("/coprs/owner/hello/edit/", data={
        "csrf_token": token, "chroots": ["fedora-42-x86_64", "fedora-43-x86_64"],
        "email_notifications": "on",
    })  # fmt: skip
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(type(site["project"]), site["project"].id).email_notifications
    edit = client.get("/coprs/owner/hello/edit/").get_data(as_text=True)
    checkbox = edit.split('id="f-email_notifications"', 1)[1].split(">", 1)[0]
    assert "checked" in checkbox


def test_storage_is_shown_and_a_refused_build_form_says_why(client, site, db_session) -> None:
    from copr_frontend.builds.models import Build
    from copr_frontend.quotas.models import OwnerQuota

    page = client.get("/coprs/owner/hello/").get_data(as_text=True)
    assert 'data-testid="storage">0 B<' in page
    owner_page = client.get("/coprs/owner/").get_data(as_text=True)
    assert "Storage used: 0 B (no limit)" in owner_page
    db_session.add(OwnerQuota(ownername="owner", limit_bytes=0))
    db_session.commit()
    owner_page = client.get("/coprs/owner/").get_data(as_text=True)
    assert "Storage used: 0 B of 0 B: the quota is used up, new builds are refused." in owner_page

    log_in(client, site["owner"])
    token = csrf_token(client, "/coprs/owner/hello/add_build_url/")
    before = db_session.query(Build).count()
    form = {"csrf_token": token, "pkgs": "https://example.org/a.src.rpm"}
    response = client.post("/coprs/owner/hello/add_build_url/", data=form)
    assert response.status_code in (400, 403)
    assert "The storage quota of owner is used up" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.query(Build).count() == before


def test_a_user_sets_their_address_and_build_email_on_the_api_page(
    client, site, db_session
) -> None:
    owner = site["owner"]
    log_in(client, owner)
    assert 'id="f-email_notifications"' in client.get("/api/").get_data(as_text=True)
    token = csrf_token(client, "/api/")
    response = client.post("/api/mail/", data={
        "csrf_token": token, "mail": "owner@example.org",
        "email_notifications": ["off", "on"],
    })  # fmt: skip
    assert response.status_code == 303
    db_session.expire_all()
    stored = db_session.get(type(owner), owner.id)
    assert (stored.mail, stored.email_notifications) == ("owner@example.org", True)
    page = client.get("/api/").get_data(as_text=True)
    assert 'value="owner@example.org"' in page
    assert "checked" in page.split('id="f-email_notifications"', 1)[1].split(">", 1)[0]

    bad = client.post("/api/mail/", data={"csrf_token": token, "mail": "not an address",
                                          "email_notifications": ["off", "on"]})  # fmt: skip
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "is not an e-mail address" in html.split('id="mail-errors">', 1)[1]
    assert 'value="not an address"' in html
    db_session.expire_all()
    stored = db_session.get(type(owner), owner.id)
    assert (stored.mail, stored.email_notifications) == ("owner@example.org", True)
    # Opting in without an address is refused too.
    empty = client.post("/api/mail/", data={"csrf_token": token, "mail": "",
                                            "email_notifications": ["off", "on"]})  # fmt: skip
    assert empty.status_code == 400
    assert "need an e-mail address" in empty.get_data(as_text=True)


def test_the_fork_form_forks_and_a_fork_past_the_quota_is_refused(client, site, db_session) -> None:
    for chroot in site["build"].chroots:
        chroot.result_size = 3 * 1024**2
    db_session.add(OwnerQuota(ownername="stranger", limit_bytes=5 * 1024**2))
    db_session.commit()
    log_in(client, site["stranger"])
    token = csrf_token(client, "/coprs/owner/hello/fork/")
    form = {"csrf_token": token, "name": "copy", "ownername": "stranger"}
    refused = client.post("/coprs/owner/hello/fork/", data=form)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "The fork would copy 6.0 MiB (6291456 bytes) of results" in page
    assert "a limit of 5.0 MiB" in page
    db_session.expire_all()
    assert client.get("/coprs/stranger/copy/").status_code == 404
    db_session.get(OwnerQuota, "stranger").limit_bytes = 10 * 1024**2
    db_session.commit()
    forked = client.post("/coprs/owner/hello/fork/", data=form)
    assert forked.status_code == 303
    assert forked.headers["Location"].endswith("/coprs/stranger/copy/")
    assert (
        client.get("/api_3/project?ownername=stranger&projectname=copy").json["storage_usage"]
        == 6 * 1024**2
    )
