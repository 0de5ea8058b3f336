"""The custom receivers (Copr's text answers), API v3 ``/webhook/info`` and
``/webhook/forge-secret``, and the retention of pull-request dirs."""

from __future__ import annotations

import flask
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import ActionTypeEnum, BuildSourceEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build
from copr_frontend.cli import main as frontend_cli
from copr_frontend.projects.models import ProjectDir
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory
from copr_frontend.webhooks.logic import HOOK_PAYLOAD, stale_pull_request_dirs

from .conftest import Hooked, stored


def custom_url(hooked: Hooked, package: str | None = "hello", secret: str | None = None) -> str:
    tail = f"{package}/" if package else ""
    return f"/webhooks/custom/{hooked.project.id}/{secret or hooked.project.webhook_secret}/{tail}"


def test_custom_hook_answers_the_build_id(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    response = client.post(custom_url(hooked))
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    (build,) = db_session.scalars(select(Build))
    assert response.data == f"{build.id}\n".encode()
    assert build.submitter == "custom webhook"
    assert build.source_json["clone_url"] == hooked.repo.clone_url
    assert "hook_data" not in build.source_json  # only custom scripts read the payload


def test_custom_script_gets_the_payload(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    hooked: Hooked,
    settings: FrontendSettings,
) -> None:
    factory.package(
        hooked.project,
        "scripted",
        source_type=BuildSourceEnum.custom,
        source_json={"script": "#!/bin/sh\ncat hook_payload\n", "chroot": None},
    )
    response = client.post(custom_url(hooked, "scripted"), data=b"\x00binary payload\xff")
    assert response.status_code == 200, response.data
    (build,) = db_session.scalars(select(Build))
    assert build.source_json["hook_data"] is True
    stored_file = settings.upload_dir / build.source_json["tmp"] / HOOK_PAYLOAD
    assert stored_file.read_bytes() == b"\x00binary payload\xff"
    # The builder fetches it where copr-rpmbuild's custom provider looks.
    with client.get(f"/tmp/{build.source_json['tmp']}/{HOOK_PAYLOAD}") as served:
        assert served.data == b"\x00binary payload\xff"


CUSTOM_REFUSALS = (
        ("/webhooks/custom/999999/{secret}/hello/", 404, "PROJECT_NOT_FOUND"),
        ("/webhooks/custom/{id}/wrong-secret/hello/", 403, "BAD_UUID"),
        ("/webhooks/custom/{id}/{secret}/", 400, "PACKAGE_NAME_REQUIRED"),
        ("/webhooks/custom/{id}/{secret}/nope/", 404, "PACKAGE_NOT_FOUND"),
        ("/webhooks/custom-dir/{owner}/nothere:custom:x/{secret}/hello/", 404,
         "PROJECT_NOT_FOUND"),
        ("/webhooks/custom-dir/{owner}/proj:custom:x/wrong/hello/", 403, "BAD_UUID"),
        ("/webhooks/custom-dir/{owner}/proj:weird:x/{secret}/hello/", 400,
         "CANT_CREATE_DIRECTORY"),
        ("/webhooks/custom-dir/{owner}/proj:pr:x/{secret}/hello/", 400, "CANT_CREATE_DIRECTORY"),
        ("/webhooks/custom-dir/{owner}/proj:custom:x/{secret}/nope/", 404, "PACKAGE_NOT_FOUND"),
)  # fmt: skip


def test_custom_refusals(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    before = stored(db_session)
    project = hooked.project
    for url, status, answer in CUSTOM_REFUSALS:
        path = url.format(id=project.id, secret=project.webhook_secret, owner=project.ownername)
        response = client.post(path, data=b"payload")
        assert (response.status_code, response.data) == (status, f"{answer}\n".encode()), url
    assert stored(db_session) == before


def test_custom_dir_builds_into_its_dir(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    project = hooked.project
    url = f"/webhooks/custom-dir/{project.ownername}/proj:custom:ci/{project.webhook_secret}/hello/"
    response = client.post(url)
    assert response.status_code == 200, response.data
    (build,) = db_session.scalars(select(Build))
    assert response.data == f"{build.id}\n".encode()
    assert build.dir.name == "proj:custom:ci"
    assert not build.dir.main


def test_custom_hook_skips_github_pings_and_needs_chroots(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    before = stored(db_session)
    ping = client.post(custom_url(hooked), headers={"X-GitHub-Event": "ping"})
    assert ping.data == b"SKIPPED\n"
    for chroot in hooked.project.chroots:
        chroot.deleted = True
    db_session.commit()
    response = client.post(custom_url(hooked))
    assert (response.status_code, response.data) == (400, b"NO_ACTIVE_CHROOTS_IN_PROJECT\n")
    assert stored(db_session) == before


def test_custom_hook_of_a_package_whose_denylist_leaves_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    hooked.package.chroot_denylist = ["fedora-*"]
    db_session.commit()
    before = stored(db_session)
    response = client.post(custom_url(hooked))
    assert response.status_code == 400
    assert response.data.startswith(b"BUILD_REQUEST_ERROR: ")
    assert b"No chroot to build for" in response.data
    assert stored(db_session) == before


# --- API v3 ---------------------------------------------------------------------------------


def test_webhook_info_and_forge_secret(
    client: flask.testing.FlaskClient, db_session: Session, factory: Factory, hooked: Hooked
) -> None:
    project = hooked.project
    owner = factory.auth(project.user)
    path = f"/api_3/webhook/info/{project.ownername}/proj"
    info = client.get(path, headers=owner)
    assert info.status_code == 200
    secret = project.webhook_secret
    assert info.json["webhook_secret"] == secret
    assert info.json["forge_secret"] is None
    assert info.json["urls"]["github"] == f"http://copr.test/webhooks/github/{project.id}/{secret}/"
    assert info.json["urls"]["custom"].endswith(f"/custom/{project.id}/{secret}/<PACKAGE_NAME>/")
    assert set(info.json["urls"]) == {"github", "gitlab", "bitbucket", "custom", "custom_dir"}

    set_path = f"/api_3/webhook/forge-secret/{project.ownername}/proj"
    made = client.put(set_path, json={"generate": True}, headers=owner)
    assert made.status_code == 200
    assert len(made.json["forge_secret"]) == 40
    given = client.post(set_path, json={"forge_secret": "my-own-secret-of-github"}, headers=owner)
    assert given.json["forge_secret"] == "my-own-secret-of-github"
    cleared = client.put(set_path, json={"forge_secret": None}, headers=owner)
    assert cleared.json["forge_secret"] is None


BAD_FORGE_SECRETS = (
    ({}, "Send 'forge_secret'"),
    ({"forge_secret": "short"}, "at least 16"),
    ({"forge_secret": "x" * 201}, "too long"),
    ({"forge_secret": "tab\tinside-the-secret"}, "printable"),
    ({"forge_secret": ["a"]}, "must be text"),
    ({"forge_secret": "a-long-enough-secret", "generate": True}, "not both"),
    ({"generate": "maybe"}, "boolean"),
)


def test_bad_forge_secrets_are_400_and_change_nothing(
    client: flask.testing.FlaskClient, db_session: Session, factory: Factory, hooked: Hooked
) -> None:
    before = stored(db_session)
    owner = factory.auth(hooked.project.user)
    for body, message in BAD_FORGE_SECRETS:
        response = client.put(
            f"/api_3/webhook/forge-secret/{hooked.project.ownername}/proj", json=body, headers=owner
        )
        assert response.status_code == 400, body
        assert message in response.json["error"], body
    assert stored(db_session) == before


def test_only_admins_see_the_webhook_secrets(
    client: flask.testing.FlaskClient, factory: Factory, hooked: Hooked
) -> None:
    path = f"/api_3/webhook/info/{hooked.project.ownername}/proj"
    assert client.get(path).status_code == 401
    stranger = factory.auth(factory.user())
    assert client.get(path, headers=stranger).status_code == 403
    builder = factory.user()
    factory.grant(hooked.project, builder, builder=2)
    assert client.get(path, headers=factory.auth(builder)).status_code == 403
    secret_path = f"/api_3/webhook/forge-secret/{hooked.project.ownername}/proj"
    assert client.put(secret_path, json={"generate": True}, headers=stranger).status_code == 403
    assert client.get("/api_3/webhook/info/nobody/nothing", headers=stranger).status_code == 404


# --- retention ------------------------------------------------------------------------------


def test_stale_pull_request_dirs_are_removed_by_the_command(
    db_session: Session, factory: Factory, hooked: Hooked, settings: FrontendSettings,
    tmp_path: object, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    project = hooked.project
    old = factory.build(project, package=hooked.package, dirname="proj:pr:1")
    old.submitted_on -= 50 * 24 * 3600
    factory.build(project, package=hooked.package, dirname="proj:pr:2")
    factory.build(project, package=hooked.package, dirname="proj:custom:keep")
    old.submitted_on = old.submitted_on  # keep the change in the session
    db_session.commit()
    from copr_common.enums import StatusEnum
    from copr_frontend.builds.states import set_chroot_status, set_source_status

    set_source_status(old, StatusEnum.succeeded)
    for chroot in old.chroots:
        set_chroot_status(chroot, StatusEnum.succeeded)
    db_session.commit()
    assert [d.name for d in stale_pull_request_dirs(db_session, 40)] == ["proj:pr:1"]

    for key, value in {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COPR_FRONTEND_CONFIG", raising=False)
    result = CliRunner().invoke(frontend_cli, ["remove-stale-pr-dirs"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"removed {project.ownername}/proj:pr:1\n"
        "1 pull-request dirs older than 40 days removed\n"
    )
    db_session.expire_all()
    names = set(db_session.scalars(select(ProjectDir.name)))
    assert names == {"proj", "proj:pr:2", "proj:custom:keep"}
    (action,) = db_session.scalars(
        select(Action).where(Action.action_type == ActionTypeEnum.remove_dirs)
    )
    assert action.data["project_dirnames"] == ["proj:pr:1"]
