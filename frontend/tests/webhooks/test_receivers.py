"""``/webhooks/<forge>/...``: real forge payloads for real commits become builds; every
refusal has its status and stores nothing."""

from __future__ import annotations

import json

import flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import ActionTypeEnum, StatusEnum
from copr_common.testing import forge as payloads
from copr_common.testing.forge import GitForge, Payload
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build
from copr_frontend.projects.models import ProjectDir
from copr_frontend.testing import Factory
from copr_frontend.webhooks.logic import set_forge_secret

from .conftest import SPEC, Hooked, post, stored

SECRET = "forge-secret-0123456789"


def builds(session: Session) -> list[Build]:
    session.expire_all()
    return list(session.scalars(select(Build).order_by(Build.id)))


def test_github_push_builds_the_package_at_the_pushed_commit(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": "Name: hello\nVersion: 1.1\n"}, "1.1")
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [commit]))
    assert response.status_code == 200, response.json
    (build,) = builds(db_session)
    assert response.json == {"build_ids": [build.id], "message": f"building hello ({build.id})"}
    assert build.package_id == hooked.package.id
    assert build.source_json["committish"] == commit.sha
    assert build.source_json["clone_url"] == hooked.repo.clone_url
    assert build.source_json["subdirectory"] == "pkg"
    assert build.dir.main
    assert build.submitter == "github:octocat"
    assert build.is_background
    assert sorted(c.name for c in build.chroots) == ["fedora-41-x86_64", "fedora-42-x86_64"]
    assert build.state == StatusEnum.pending


def test_a_push_outside_the_subdirectory_builds_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"docs/NEWS": "news\n"}, "docs")
    before = stored(db_session)
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [commit]))
    assert response.status_code == 200
    assert response.json == {"build_ids": [], "message": "package hello: no changed file in pkg/"}
    assert stored(db_session) == before


def test_a_package_following_a_branch_is_built_only_from_it(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    hooked.package.source_json = {**hooked.package.source_json, "committish": "release"}
    db_session.commit()
    on_main = hooked.repo.commit({"pkg/a": "main\n"}, "main")
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [on_main]))
    assert response.json["build_ids"] == []
    assert "follows 'release', not refs/heads/main" in response.json["message"]
    on_release = hooked.repo.commit({"pkg/a": "release\n"}, "release", branch="release")
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [on_release]))
    (build,) = builds(db_session)
    assert response.json["build_ids"] == [build.id]
    assert build.source_json["committish"] == on_release.sha


def test_a_package_without_webhook_rebuild_is_not_built(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    hooked.package.webhook_rebuild = False
    db_session.commit()
    commit = hooked.repo.commit({"pkg/a": "a\n"}, "a")
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [commit]))
    assert response.status_code == 200
    assert response.json["build_ids"] == []
    assert "no package of" in response.json["message"]
    assert builds(db_session) == []


def test_every_matching_package_of_the_repository_builds(
    client: flask.testing.FlaskClient, db_session: Session, factory: Factory, hooked: Hooked
) -> None:
    other = factory.package(
        hooked.project,
        "hello-docs",
        source_json={**hooked.package.source_json, "subdirectory": "",
                     "clone_url": hooked.repo.clone_url.removesuffix(".git") + "/"},
        webhook_rebuild=True,
    )  # fmt: skip
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "both")
    response = post(client, hooked.url("gitlab"), payloads.gitlab_push(hooked.repo, [commit]))
    assert response.status_code == 200
    assert {b.package_id for b in builds(db_session)} == {hooked.package.id, other.id}
    assert len(response.json["build_ids"]) == 2


SPEC_2 = "Name: hello\nVersion: 2\n"


def test_gitlab_push_and_tag_push(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "2")
    response = post(client, hooked.url("gitlab"), payloads.gitlab_push(hooked.repo, [commit]))
    assert response.status_code == 200, response.json
    sha = hooked.repo.tag("hello-2-1")
    response = post(
        client, hooked.url("gitlab"), payloads.gitlab_tag_push(hooked.repo, "hello-2-1", sha)
    )
    assert response.status_code == 200, response.json
    push_build, tag_build = builds(db_session)
    assert push_build.source_json["committish"] == commit.sha
    assert tag_build.source_json["committish"] == "hello-2-1"
    assert tag_build.submitter == "gitlab:dev"


def test_bitbucket_push_and_tag(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"README": "only the readme\n"}, "readme")
    response = post(client, hooked.url("bitbucket"), payloads.bitbucket_push(hooked.repo, commit))
    # Bitbucket lists no changed files: the package builds whatever changed.
    assert response.status_code == 200, response.json
    hooked.repo.tag("hello-3.0")
    response = post(
        client, hooked.url("bitbucket"), payloads.bitbucket_push(hooked.repo, tag="hello-3.0")
    )
    assert response.status_code == 200, response.json
    push_build, tag_build = builds(db_session)
    assert push_build.source_json["committish"] == commit.sha
    assert tag_build.source_json["committish"] == "hello-3.0"


def test_github_tag_needs_the_package_name_or_the_package_in_the_url(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    hooked.repo.tag("v1.5")
    payload = payloads.github_create_tag(hooked.repo, "v1.5")
    response = post(client, hooked.url("github"), payload)
    assert response.json == {
        "build_ids": [],
        "message": "package hello: tag 'v1.5' is not hello-<version>",
    }
    response = post(client, hooked.url("github", "hello"), payload)
    (build,) = builds(db_session)
    assert response.json["build_ids"] == [build.id]
    assert build.source_json["committish"] == "v1.5"


def test_a_named_package_that_does_not_exist_is_404(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    before = stored(db_session)
    response = post(
        client, hooked.url("github", "nope"), payloads.github_create_tag(hooked.repo, "v1")
    )
    assert response.status_code == 404
    assert response.json == {"error": "No package nope in " + hooked.project.full_name}
    assert stored(db_session) == before


def test_ping_answers_and_builds_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    before = stored(db_session)
    response = post(client, hooked.url("github"), payloads.github_ping(hooked.repo, "x"))
    assert response.status_code == 200
    assert response.json == {"build_ids": [], "message": "pong: the webhook works"}
    assert stored(db_session) == before


# --- refusals: each its status, nothing stored ----------------------------------------------


def test_a_payload_of_another_repository_builds_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked, git_forge: GitForge
) -> None:
    other = git_forge.create_repo("other", {"pkg/hello.spec": SPEC})
    commit = other.commit({"pkg/hello.spec": SPEC_2}, "2")
    before = stored(db_session)
    for forge, payload in (
        ("github", payloads.github_push(other, [commit])),
        ("gitlab", payloads.gitlab_push(other, [commit])),
        ("bitbucket", payloads.bitbucket_push(other, commit)),
    ):
        response = post(client, hooked.url(forge), payload)
        assert response.status_code == 200
        assert response.json["build_ids"] == []
        assert f"is built from {other.clone_url.removesuffix('.git')}" in response.json["message"]
    assert stored(db_session) == before


FORGES = ("github", "gitlab", "bitbucket")


def test_wrong_secret_unknown_project_and_malformed_json(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    for forge in FORGES:
        _refusals(client, db_session, hooked, forge)


def _refusals(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked, forge: str
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "2")
    payload = payloads.github_push(hooked.repo, [commit])
    before = stored(db_session)
    wrong = post(client, hooked.url(forge, secret="0" * 32), payload)
    assert wrong.status_code == 403
    assert wrong.json == {"error": f"Wrong webhook secret for project {hooked.project.full_name}"}
    for copr_id in ("999999", "0", "abc", "99999999999999999999"):
        missing = post(client, f"/webhooks/{forge}/{copr_id}/{hooked.project.webhook_secret}/",
                       payload)  # fmt: skip
        assert missing.status_code == 404
        assert missing.json == {"error": f"Project {copr_id} does not exist"}
    for body in (b"{not json", b"[]", b"", b'{"ref": []}'):
        bad = client.post(
            hooked.url(forge),
            data=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push",
                     "X-Event-Key": "repo:push"},
        )  # fmt: skip
        assert bad.status_code == 400, (body, bad.json)
        assert bad.json["error"].startswith("Bad ")
    assert stored(db_session) == before


def test_a_forge_secret_makes_the_signature_required(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    set_forge_secret(db_session, hooked.project, SECRET)
    db_session.commit()
    for forge in FORGES:
        _signature_required(client, db_session, hooked, forge)


def _signature_required(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked, forge: str
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, f"2 for {forge}")
    render = {
        "github": lambda s: payloads.github_push(hooked.repo, [commit], secret=s),
        "gitlab": lambda s: payloads.gitlab_push(hooked.repo, [commit], secret=s),
        "bitbucket": lambda s: payloads.bitbucket_push(hooked.repo, commit, secret=s),
    }[forge]
    before = stored(db_session)
    for secret in (None, "not-the-secret-at-all"):
        response = post(client, hooked.url(forge), render(secret))
        assert response.status_code == 403, response.json
    # A body changed after signing does not match its signature either.
    signed = render(SECRET)
    tampered = Payload(signed.headers, signed.body.replace(b"A. Developer", b"Mallory     "))
    if forge != "gitlab":  # GitLab sends a token, not a signature of the body
        assert post(client, hooked.url(forge), tampered).status_code == 403
    assert stored(db_session) == before
    response = post(client, hooked.url(forge), signed)
    assert response.status_code == 200, response.json
    assert len(response.json["build_ids"]) == 1


def test_a_payload_over_the_limit_is_413(
    app: flask.Flask, client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    from copr_frontend.app import SETTINGS_KEY

    app.config[SETTINGS_KEY] = app.config[SETTINGS_KEY].model_copy(
        update={"webhook_max_payload": 2048}
    )
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "x" * 4000)
    before = stored(db_session)
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [commit]))
    assert response.status_code == 413
    assert "larger" in response.json["error"]
    assert stored(db_session) == before


def test_no_active_chroot_builds_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    for chroot in hooked.project.chroots:
        chroot.deleted = True
    db_session.commit()
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "2")
    response = post(client, hooked.url("github"), payloads.github_push(hooked.repo, [commit]))
    assert response.status_code == 200
    assert response.json["message"] == f"{hooked.project.full_name} has no active chroots"
    assert builds(db_session) == []


# --- pull requests --------------------------------------------------------------------------


def pr_dirs(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(ProjectDir.name).where(ProjectDir.main.is_(False))))


def test_pull_request_builds_into_its_dir_rebuilds_per_commit_and_closing_removes_it(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked, git_forge: GitForge
) -> None:
    fork = git_forge.create_repo("hello-fork", {"pkg/hello.spec": SPEC})
    first = fork.commit({"pkg/hello.spec": SPEC_2}, "pr 1", branch="friendlier")
    url = hooked.url("github")
    opened = post(client, url, payloads.github_pull_request(hooked.repo, "opened", 7, first,
                                                            head_repo=fork))  # fmt: skip
    assert opened.status_code == 200, opened.json
    (build,) = builds(db_session)
    assert opened.json["build_ids"] == [build.id]
    assert build.dir.name == "proj:pr:7"
    assert build.source_json["clone_url"] == fork.clone_url
    assert build.source_json["committish"] == first.sha
    assert build.submitter == "github:contributor"

    # An update that is not a new commit (edited, labeled...) does not build again.
    again = post(client, url, payloads.github_pull_request(hooked.repo, "synchronize", 7, first,
                                                           head_repo=fork))  # fmt: skip
    assert again.json["build_ids"] == []
    assert "already built at" in again.json["message"]

    second = fork.commit({"pkg/hello.spec": "Name: hello\nVersion: 3\n"}, "pr 2",
                         branch="friendlier")  # fmt: skip
    synced = post(client, url, payloads.github_pull_request(hooked.repo, "synchronize", 7, second,
                                                            head_repo=fork))  # fmt: skip
    first_build, second_build = builds(db_session)
    assert synced.json["build_ids"] == [second_build.id]
    assert second_build.dir_id == first_build.dir_id
    assert second_build.source_json["committish"] == second.sha
    assert pr_dirs(db_session) == ["proj:pr:7"]

    # The first build finished, the second still runs: closing cancels and removes both.
    db_session.expire_all()
    from copr_frontend.builds.states import set_chroot_status, set_source_status

    done = db_session.get(Build, first_build.id)
    assert done is not None
    set_source_status(done, StatusEnum.succeeded)
    for chroot in done.chroots:
        set_chroot_status(chroot, StatusEnum.succeeded)
    db_session.commit()
    closed = post(client, url, payloads.github_pull_request(hooked.repo, "closed", 7, second,
                                                            head_repo=fork))  # fmt: skip
    assert closed.status_code == 200
    assert closed.json == {"build_ids": [], "message": "proj:pr:7 and its results are removed"}
    assert builds(db_session) == []
    assert pr_dirs(db_session) == []
    (action,) = db_session.scalars(
        select(Action).where(Action.action_type == ActionTypeEnum.remove_dirs)
    )
    assert action.data == {"ownername": hooked.project.ownername, "projectname": "proj",
                           "project_dirnames": ["proj:pr:7"]}  # fmt: skip
    # Closing twice is harmless.
    closed = post(client, url, payloads.github_pull_request(hooked.repo, "closed", 7, second,
                                                            head_repo=fork))  # fmt: skip
    assert closed.json["message"] == "proj:pr:7 does not exist: nothing to remove"


def test_closing_a_pull_request_of_another_repository_removes_nothing(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked, git_forge: GitForge
) -> None:
    head = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "pr", branch="topic")
    url = hooked.url("github")
    post(client, url, payloads.github_pull_request(hooked.repo, "opened", 3, head))
    other = git_forge.create_repo("other", {"pkg/hello.spec": SPEC})
    before = stored(db_session)
    response = post(client, url, payloads.github_pull_request(other, "closed", 3, head))
    assert response.status_code == 200
    assert "no package of" in response.json["message"]
    assert stored(db_session) == before
    assert pr_dirs(db_session) == ["proj:pr:3"]


def test_gitlab_merge_request_open_update_merge(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    head = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "mr", branch="topic")
    url = hooked.url("gitlab")
    opened = post(client, url, payloads.gitlab_merge_request(hooked.repo, "open", 11, head))
    assert opened.status_code == 200, opened.json
    assert [b.dir.name for b in builds(db_session)] == ["proj:pr:11"]
    newer = hooked.repo.commit({"pkg/hello.spec": "Name: hello\nVersion: 4\n"}, "mr 2",
                               branch="topic")  # fmt: skip
    post(client, url, payloads.gitlab_merge_request(hooked.repo, "update", 11, newer))
    assert [b.source_json["committish"] for b in builds(db_session)] == [head.sha, newer.sha]
    merged = post(client, url, payloads.gitlab_merge_request(hooked.repo, "merge", 11, newer))
    assert merged.json["message"] == "proj:pr:11 and its results are removed"
    assert pr_dirs(db_session) == []


def test_pull_request_against_another_branch_than_the_followed_one(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    hooked.package.source_json = {**hooked.package.source_json, "committish": "stable"}
    db_session.commit()
    head = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "pr", branch="topic")
    response = post(client, hooked.url("github"),
                    payloads.github_pull_request(hooked.repo, "opened", 2, head))  # fmt: skip
    assert response.json["build_ids"] == []
    assert "targets 'main'" in response.json["message"]
    assert pr_dirs(db_session) == []


def test_form_encoded_github_payload(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "2")
    payload = payloads.github_push(hooked.repo, [commit])
    headers = {**payload.headers, "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post(hooked.url("github"), data={"payload": payload.body.decode()},
                           headers=headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert len(builds(db_session)) == 1


def test_webhook_urls_without_trailing_slash_work(
    client: flask.testing.FlaskClient, db_session: Session, hooked: Hooked
) -> None:
    commit = hooked.repo.commit({"pkg/hello.spec": SPEC_2}, "2")
    payload = payloads.github_push(hooked.repo, [commit])
    response = post(client, hooked.url("github").rstrip("/"), payload)
    assert response.status_code == 200
    assert json.loads(response.data)["build_ids"]
    assert client.get(hooked.url("github")).status_code == 405
