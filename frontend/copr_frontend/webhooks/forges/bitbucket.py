"""Bitbucket: ``X-Event-Key`` says what happened (``repo:push``, ``pullrequest:*``).

A push lists its ref changes, each with the ref's new state (``new.type`` ``branch`` or
``tag``, ``new.name``, ``new.target.hash``); as Copr does, the first change that did not
delete its ref is what gets built.  Bitbucket does not list changed files, so a branch
push rebuilds every package of the repository.  Pull requests: ``pullrequest:created``,
``pullrequest:updated``, ``pullrequest:fulfilled`` (merged), ``pullrequest:rejected``
(declined).  With a forge secret, ``X-Hub-Signature: sha256=<HMAC-SHA256 of the body>``
must match.  Without ``X-Event-Key`` a body with ``push`` is taken as ``repo:push``.
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
    field,
    load_json,
    require_hmac_signature,
)

NAME = "bitbucket"
LABEL = "Bitbucket"

_PR_ACTIONS = {
    "pullrequest:created": PullRequestAction.OPENED,
    "pullrequest:updated": PullRequestAction.UPDATED,
    "pullrequest:fulfilled": PullRequestAction.CLOSED,
    "pullrequest:rejected": PullRequestAction.CLOSED,
}


def verify(request: HookRequest, secret: str) -> None:
    require_hmac_signature(request, secret, "X-Hub-Signature", LABEL)


def _sender(data: dict[str, Any]) -> str | None:
    for path in ("actor.nickname", "actor.display_name"):
        name = field(data, path, required=False)
        if name:
            return str(name)
    return None


def parse(request: HookRequest) -> Event:
    data = load_json(request)
    event = request.header("X-Event-Key") or ("repo:push" if "push" in data else "")
    if event == "repo:push":
        return _push(data)
    if event in _PR_ACTIONS:
        return _pull_request(data, _PR_ACTIONS[event])
    return Ignored(f"Bitbucket event {event or '(none)'!r} builds nothing")


def _push(data: dict[str, Any]) -> Event:
    clone_url = field(data, "repository.links.html.href")
    changes = field(data, "push.changes", list)
    for change in changes:
        if not isinstance(change, dict):
            raise PayloadError("every entry of 'push.changes' must be an object")
        new = change.get("new")
        if new is None:
            continue  # the ref was deleted
        kind = field(new, "type")
        name = field(new, "name")
        if kind == "tag":
            return Tag(clone_url=clone_url, name=name, sender=_sender(data))
        if kind in ("branch", "named_branch"):
            return Push(
                clone_url=clone_url,
                ref=f"refs/heads/{name}",
                commit=field(new, "target.hash"),
                changed_files=None,
                sender=_sender(data),
            )
        return Ignored(f"a push of a {kind!r} builds nothing")
    return Ignored("the push only deleted refs: nothing to build")


def _pull_request(data: dict[str, Any], action: PullRequestAction) -> Event:
    number = field(data, "pullrequest.id", int)
    if number < 1:
        raise PayloadError("the pull request id must be positive")
    head_url = field(data, "pullrequest.source.repository.links.html.href", required=False)
    if head_url is None and action != PullRequestAction.CLOSED:
        return Ignored(f"the repository of pull request #{number} is gone: nothing to build")
    return PullRequest(
        clone_url=field(data, "repository.links.html.href"),
        number=number,
        action=action,
        head_clone_url=head_url or "",
        head_commit=field(data, "pullrequest.source.commit.hash"),
        target_branch=field(data, "pullrequest.destination.branch.name"),
        sender=_sender(data),
    )
