"""GitHub: ``X-GitHub-Event`` says what happened; the body is the event's payload.

Events: ``push`` (commits on a branch; a tag's push is left to ``create``, as Copr does,
so that a tag subscribed both ways builds once), ``create`` with ``ref_type`` ``tag``,
``pull_request`` (``opened``, ``reopened``, ``synchronize``, ``closed``) and ``ping``.
With a forge secret, ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`` must match.
The body is JSON, or form-encoded with the JSON in ``payload`` (the hook's "content type").
"""

from __future__ import annotations

from typing import Any

from copr_frontend.webhooks.events import (
    Event,
    Ignored,
    PullRequest,
    PullRequestAction,
    Push,
    Tag,
)
from copr_frontend.webhooks.forges import (
    HookRequest,
    PayloadError,
    changed_paths,
    field,
    is_zero_commit,
    load_json,
    require_hmac_signature,
)

NAME = "github"
LABEL = "GitHub"

_PR_ACTIONS = {
    "opened": PullRequestAction.OPENED,
    "reopened": PullRequestAction.OPENED,
    "synchronize": PullRequestAction.UPDATED,
    "closed": PullRequestAction.CLOSED,
}


def verify(request: HookRequest, secret: str) -> None:
    require_hmac_signature(request, secret, "X-Hub-Signature-256", LABEL)


def _sender(data: dict[str, Any]) -> str | None:
    login = field(data, "sender.login", required=False)
    return str(login) if login else None


def parse(request: HookRequest) -> Event:
    event = request.header("X-GitHub-Event")
    if not event:
        raise PayloadError("the request has no X-GitHub-Event header")
    data = load_json(request)
    if event == "ping":
        return Ignored("pong: the webhook works")
    if event == "push":
        return _push(data)
    if event == "create":
        return _create(data)
    if event == "pull_request":
        return _pull_request(data)
    return Ignored(f"GitHub event {event!r} builds nothing")


def _push(data: dict[str, Any]) -> Event:
    ref = field(data, "ref")
    after = field(data, "after")
    if field(data, "deleted", bool, required=False) or is_zero_commit(after):
        return Ignored(f"{ref} was deleted: nothing to build")
    if ref.startswith("refs/tags/"):
        return Ignored("a tag is built from GitHub's 'create' event (Branch or tag creation)")
    return Push(
        clone_url=field(data, "repository.clone_url"),
        ref=ref,
        commit=after,
        changed_files=changed_paths(data.get("commits") or [], "commits"),
        sender=_sender(data),
    )


def _create(data: dict[str, Any]) -> Event:
    ref_type = field(data, "ref_type")
    if ref_type != "tag":
        return Ignored(f"a new {ref_type} builds nothing until commits are pushed to it")
    return Tag(
        clone_url=field(data, "repository.clone_url"),
        name=field(data, "ref").removeprefix("refs/tags/"),
        sender=_sender(data),
    )


def _pull_request(data: dict[str, Any]) -> Event:
    action_name = field(data, "action")
    action = _PR_ACTIONS.get(action_name)
    if action is None:
        return Ignored(f"pull request action {action_name!r} builds nothing")
    number = field(data, "number", int, required=False) or field(data, "pull_request.number", int)
    if number < 1:
        raise PayloadError("the pull request number must be positive")
    head_url = field(data, "pull_request.head.repo.clone_url", required=False)
    if head_url is None and action != PullRequestAction.CLOSED:
        return Ignored(f"the repository of pull request #{number} is gone: nothing to build")
    return PullRequest(
        clone_url=field(data, "repository.clone_url"),
        number=number,
        action=action,
        head_clone_url=head_url or "",
        head_commit=field(data, "pull_request.head.sha"),
        target_branch=field(data, "pull_request.base.ref"),
        sender=_sender(data),
    )
