"""GitLab: the body's ``object_kind`` says what happened (``X-Gitlab-Event`` says the
same in words, but Copr documents posting GitLab-shaped payloads without it).

Events: ``push`` (Push Hook), ``tag_push`` (Tag Push Hook) and ``merge_request`` (Merge
Request Hook: ``open``, ``reopen``, ``update``, ``close``, ``merge``).  With a forge
secret, ``X-Gitlab-Token`` must be that secret.  A push lists at most 20 commits; when
``total_commits_count`` says there were more, the changed files are unknown and every
package of the repository is rebuilt.
"""

from __future__ import annotations

import hmac
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
    SignatureError,
    changed_paths,
    field,
    is_zero_commit,
    load_json,
)

NAME = "gitlab"
LABEL = "GitLab"

_MR_ACTIONS = {
    "open": PullRequestAction.OPENED,
    "reopen": PullRequestAction.OPENED,
    "update": PullRequestAction.UPDATED,
    "close": PullRequestAction.CLOSED,
    "merge": PullRequestAction.CLOSED,
}


def verify(request: HookRequest, secret: str) -> None:
    token = request.header("X-Gitlab-Token")
    if not token:
        raise SignatureError(
            "the project has a forge secret but the request has no X-Gitlab-Token: set the "
            "same secret token in the GitLab webhook"
        )
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise SignatureError("X-Gitlab-Token is not the project's forge secret")


def _clone_url(data: dict[str, Any]) -> str:
    url = field(data, "project.git_http_url", required=False)
    return url if url else field(data, "repository.git_http_url")


def _sender(data: dict[str, Any]) -> str | None:
    name = field(data, "user_username", required=False) or field(
        data, "user.username", required=False
    )
    return str(name) if name else None


def parse(request: HookRequest) -> Event:
    data = load_json(request)
    kind = field(data, "object_kind")
    if kind == "push":
        return _push(data)
    if kind == "tag_push":
        return _tag_push(data)
    if kind == "merge_request":
        return _merge_request(data)
    return Ignored(f"GitLab event {kind!r} builds nothing")


def _push(data: dict[str, Any]) -> Event:
    ref = field(data, "ref")
    after = field(data, "after")
    if is_zero_commit(after):
        return Ignored(f"{ref} was deleted: nothing to build")
    commits = data.get("commits") or []
    changed: frozenset[str] | None = changed_paths(commits, "commits")
    total = field(data, "total_commits_count", int, required=False)
    if total is not None and total > len(commits):
        changed = None  # GitLab lists only the first commits of a large push
    return Push(
        clone_url=_clone_url(data),
        ref=ref,
        commit=field(data, "checkout_sha", required=False) or after,
        changed_files=changed,
        sender=_sender(data),
    )


def _tag_push(data: dict[str, Any]) -> Event:
    ref = field(data, "ref")
    if is_zero_commit(field(data, "after")):
        return Ignored(f"{ref} was deleted: nothing to build")
    return Tag(
        clone_url=_clone_url(data), name=ref.removeprefix("refs/tags/"), sender=_sender(data)
    )


def _merge_request(data: dict[str, Any]) -> Event:
    action_name = field(data, "object_attributes.action", required=False)
    if action_name is None:
        # GitLab's "Test" button sends merge request hooks without an action.
        return Ignored("a merge request event without an action builds nothing")
    action = _MR_ACTIONS.get(action_name)
    if action is None:
        return Ignored(f"merge request action {action_name!r} builds nothing")
    number = field(data, "object_attributes.iid", int)
    if number < 1:
        raise PayloadError("the merge request number (iid) must be positive")
    target = field(data, "object_attributes.target.git_http_url", required=False)
    return PullRequest(
        clone_url=target or _clone_url(data),
        number=number,
        action=action,
        head_clone_url=field(data, "object_attributes.source.git_http_url"),
        head_commit=field(data, "object_attributes.last_commit.id"),
        target_branch=field(data, "object_attributes.target_branch"),
        sender=_sender(data),
    )
