"""The forge parsers on the forges' payloads (the fixtures in copr_common's
``forge_payloads/``, rendered for commits of a real repository)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from copr_common.testing import forge as payloads
from copr_common.testing.forge import ForgeRepo, GitForge, Payload
from copr_frontend.webhooks.events import Ignored, PullRequest, PullRequestAction, Push, Tag
from copr_frontend.webhooks.forges import (
    HookRequest,
    PayloadError,
    SignatureError,
    bitbucket,
    github,
    gitlab,
)

SECRET = "forge-secret-0123456789"


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitForge]:
    # One forge for the module: the parsers only read what a repository's commits are.
    yield from payloads.git_forge(tmp_path_factory.mktemp("forge"))


@pytest.fixture(scope="module")
def repo(forge: GitForge) -> ForgeRepo:
    return forge.create_repo("hello", {"pkg/hello.spec": "Name: hello\n", "README": "hi\n"})


def fork_of(forge: GitForge) -> ForgeRepo:
    return forge.create_repo(f"fork-{uuid.uuid4().hex[:8]}", {"pkg/hello.spec": "Name: hello\n"})


def request(payload: Payload) -> HookRequest:
    headers = {k.lower(): v for k, v in payload.headers.items()}
    return HookRequest(headers, payload.body, headers.get("content-type", "application/json"))


def with_body(payload: Payload, body: bytes) -> HookRequest:
    return HookRequest(request(payload).headers, body)


# --- GitHub ---------------------------------------------------------------------------------


def test_github_push_names_the_commit_and_its_changed_files(repo: ForgeRepo) -> None:
    first = repo.commit({"pkg/hello.spec": "Name: hello\nVersion: 2\n"}, "bump")
    second = repo.commit({"docs/NEWS": "news\n"}, "news", remove=("README",))
    event = github.parse(request(payloads.github_push(repo, [first, second])))
    assert event == Push(
        clone_url=repo.clone_url,
        ref="refs/heads/main",
        commit=second.sha,
        changed_files=frozenset({"pkg/hello.spec", "docs/NEWS", "README"}),
        sender="octocat",
    )


def test_github_form_encoded_payload_is_read(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    payload = payloads.github_push(repo, [commit])
    from urllib.parse import urlencode

    body = urlencode({"payload": payload.body.decode()}).encode()
    hook = HookRequest(request(payload).headers, body, "application/x-www-form-urlencoded")
    event = github.parse(hook)
    assert isinstance(event, Push)
    assert event.commit == commit.sha


def test_github_deleted_branch_and_tag_pushes_build_nothing(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    data = payloads.github_push(repo, [commit]).json()
    deleted = {**data, "deleted": True, "after": payloads.ZERO, "commits": []}
    tag_push = {**data, "ref": "refs/tags/hello-1.0"}
    headers = request(payloads.github_push(repo, [commit])).headers
    for body in (deleted, tag_push):
        event = github.parse(HookRequest(headers, json.dumps(body).encode()))
        assert isinstance(event, Ignored)


def test_github_create_tag_and_branch(repo: ForgeRepo) -> None:
    payload = payloads.github_create_tag(repo, "hello-1.2")
    assert github.parse(request(payload)) == Tag(repo.clone_url, "hello-1.2", "octocat")
    branch = {**payload.json(), "ref_type": "branch", "ref": "feature"}
    assert isinstance(github.parse(with_body(payload, json.dumps(branch).encode())), Ignored)


def test_github_ping(repo: ForgeRepo) -> None:
    event = github.parse(request(payloads.github_ping(repo, "https://copr.test/webhooks/x")))
    assert event == Ignored("pong: the webhook works")


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("opened", PullRequestAction.OPENED),
        ("reopened", PullRequestAction.OPENED),
        ("synchronize", PullRequestAction.UPDATED),
        ("closed", PullRequestAction.CLOSED),
    ],
)
def test_github_pull_request_actions(
    repo: ForgeRepo, forge: GitForge, action: str, expected: PullRequestAction
) -> None:
    fork = fork_of(forge)
    head = fork.commit({"pkg/hello.spec": "Name: hello\nVersion: 3\n"}, "pr", branch="fix")
    event = github.parse(
        request(payloads.github_pull_request(repo, action, 12, head, head_repo=fork))
    )
    assert event == PullRequest(
        clone_url=repo.clone_url,
        number=12,
        action=expected,
        head_clone_url=fork.clone_url,
        head_commit=head.sha,
        target_branch="main",
        sender="contributor",
    )


def test_github_other_pull_request_actions_and_events_build_nothing(repo: ForgeRepo) -> None:
    head = repo.commit({"pkg/a": "a\n"}, "a", branch="fix")
    labeled = payloads.github_pull_request(repo, "labeled", 3, head)
    assert isinstance(github.parse(request(labeled)), Ignored)
    issues = HookRequest({"x-github-event": "issues"}, b'{"action": "opened"}')
    assert github.parse(issues) == Ignored("GitHub event 'issues' builds nothing")


def test_github_signature(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    signed = request(payloads.github_push(repo, [commit], secret=SECRET))
    github.verify(signed, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        github.verify(signed, SECRET + "x")
    with pytest.raises(SignatureError, match="does not match"):
        github.verify(HookRequest(signed.headers, signed.body + b" "), SECRET)
    with pytest.raises(SignatureError, match="no X-Hub-Signature-256"):
        github.verify(request(payloads.github_push(repo, [commit])), SECRET)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no payload"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"ref": "refs/heads/main", "after": "abc"}', "no 'repository.clone_url'"),
        (b'{"ref": 5, "after": "abc"}', "wrong type"),
        (b"[" * 100 + b"]" * 100, "must be a JSON object"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "deeper"),
        (
            b'{"ref": "refs/heads/main", "after": "a", "repository": {"clone_url": "u"},'
            b' "commits": [{"added": [1]}]}',
            "list of paths",
        ),  # fmt: skip
    ],
)
def test_github_malformed_push(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        github.parse(HookRequest({"x-github-event": "push"}, body))


def test_github_needs_its_event_header() -> None:
    with pytest.raises(PayloadError, match="X-GitHub-Event"):
        github.parse(HookRequest({}, b"{}"))


# --- GitLab ---------------------------------------------------------------------------------


def test_gitlab_push(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/hello.spec": "Name: hello\nVersion: 2\n"}, "bump")
    event = gitlab.parse(request(payloads.gitlab_push(repo, [commit])))
    assert event == Push(
        repo.clone_url, "refs/heads/main", commit.sha, frozenset({"pkg/hello.spec"}), "dev"
    )


def test_gitlab_push_with_more_commits_than_listed_changes_unknown_files(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    payload = payloads.gitlab_push(repo, [commit])
    data = {**payload.json(), "total_commits_count": 40}
    event = gitlab.parse(with_body(payload, json.dumps(data).encode()))
    assert isinstance(event, Push)
    assert event.changed_files is None


def test_gitlab_without_event_header_reads_object_kind(repo: ForgeRepo) -> None:
    """Copr documents posting GitLab-shaped payloads from scripts, without headers."""
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    event = gitlab.parse(HookRequest({}, payloads.gitlab_push(repo, [commit]).body))
    assert isinstance(event, Push)


def test_gitlab_tag_push_and_deleted_tag(repo: ForgeRepo) -> None:
    sha = repo.tag("hello-2.0")
    payload = payloads.gitlab_tag_push(repo, "hello-2.0", sha)
    assert gitlab.parse(request(payload)) == Tag(repo.clone_url, "hello-2.0", "dev")
    deleted = {**payload.json(), "after": payloads.ZERO, "checkout_sha": None}
    assert isinstance(gitlab.parse(with_body(payload, json.dumps(deleted).encode())), Ignored)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("open", PullRequestAction.OPENED),
        ("reopen", PullRequestAction.OPENED),
        ("update", PullRequestAction.UPDATED),
        ("close", PullRequestAction.CLOSED),
        ("merge", PullRequestAction.CLOSED),
    ],
)
def test_gitlab_merge_request(
    repo: ForgeRepo, forge: GitForge, action: str, expected: PullRequestAction
) -> None:
    fork = fork_of(forge)
    head = fork.commit({"pkg/x": "x\n"}, "x", branch="topic")
    event = gitlab.parse(
        request(payloads.gitlab_merge_request(repo, action, 5, head, head_repo=fork))
    )
    assert event == PullRequest(
        repo.clone_url, 5, expected, fork.clone_url, head.sha, "main", "contributor"
    )


def test_gitlab_merge_request_approval_builds_nothing(repo: ForgeRepo) -> None:
    head = repo.commit({"pkg/x": "x\n"}, "x", branch="topic")
    payload = payloads.gitlab_merge_request(repo, "approved", 5, head)
    assert isinstance(gitlab.parse(request(payload)), Ignored)


def test_gitlab_token(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    gitlab.verify(request(payloads.gitlab_push(repo, [commit], secret=SECRET)), SECRET)
    with pytest.raises(SignatureError, match="not the project's forge secret"):
        gitlab.verify(request(payloads.gitlab_push(repo, [commit], secret="other" * 5)), SECRET)
    with pytest.raises(SignatureError, match="no X-Gitlab-Token"):
        gitlab.verify(request(payloads.gitlab_push(repo, [commit])), SECRET)


def test_gitlab_malformed() -> None:
    with pytest.raises(PayloadError, match="object_kind"):
        gitlab.parse(HookRequest({}, b'{"ref": "refs/heads/main"}'))
    with pytest.raises(PayloadError, match="git_http_url"):
        gitlab.parse(HookRequest({}, b'{"object_kind": "push", "ref": "r", "after": "a"}'))


# --- Bitbucket ------------------------------------------------------------------------------


def test_bitbucket_branch_push_does_not_list_files(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    event = bitbucket.parse(request(payloads.bitbucket_push(repo, commit)))
    assert event == Push(repo.html_url, "refs/heads/main", commit.sha, None, "dev")


def test_bitbucket_tag_push(repo: ForgeRepo) -> None:
    repo.tag("hello-1.1")
    event = bitbucket.parse(request(payloads.bitbucket_push(repo, tag="hello-1.1")))
    assert event == Tag(repo.html_url, "hello-1.1", "dev")


def test_bitbucket_deleted_branch_builds_nothing(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    payload = payloads.bitbucket_push(repo, commit)
    data = payload.json()
    data["push"]["changes"][0]["new"] = None
    assert isinstance(bitbucket.parse(with_body(payload, json.dumps(data).encode())), Ignored)


def test_bitbucket_signature(repo: ForgeRepo) -> None:
    commit = repo.commit({"pkg/a": "a\n"}, "a")
    bitbucket.verify(request(payloads.bitbucket_push(repo, commit, secret=SECRET)), SECRET)
    with pytest.raises(SignatureError):
        bitbucket.verify(request(payloads.bitbucket_push(repo, commit, secret="x" * 20)), SECRET)
    with pytest.raises(SignatureError, match="no X-Hub-Signature"):
        bitbucket.verify(request(payloads.bitbucket_push(repo, commit)), SECRET)


def test_bitbucket_malformed_and_other_events() -> None:
    with pytest.raises(PayloadError, match="push.changes"):
        bitbucket.parse(
            HookRequest(
                {"x-event-key": "repo:push"},
                b'{"repository": {"links": {"html":'
                b' {"href": "https://bitbucket.org/a/b"}}}, "push": {}}',
            )  # fmt: skip
        )
    event = bitbucket.parse(HookRequest({"x-event-key": "issue:created"}, b"{}"))
    assert isinstance(event, Ignored)
