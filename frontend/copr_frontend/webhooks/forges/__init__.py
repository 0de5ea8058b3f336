"""One parser per forge: check the request's signature, turn its payload into an event.

Every forge module has ``NAME`` (the word in the receiver URL), ``LABEL`` (what builds
show as their submitter), ``verify(request, secret)`` and ``parse(request)``.  This
module holds what they share: the request as received, the two errors, and careful JSON
access (a payload is untrusted input: any field may be missing or of another type).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

MAX_DEPTH = 64
"""Deeper JSON than any forge sends is refused before it is walked."""


class PayloadError(ValueError):
    """The payload is malformed or lacks what its event needs (a 400)."""


class SignatureError(ValueError):
    """The request's signature or token does not match the project's forge secret (403)."""


@dataclass(frozen=True)
class HookRequest:
    """A webhook request as received: lower-case header names, the raw body."""

    headers: Mapping[str, str]
    body: bytes
    content_type: str = "application/json"

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def load_json(request: HookRequest) -> dict[str, Any]:
    """The payload as a JSON object: a JSON body, or GitHub's form-encoded ``payload``."""
    raw: bytes | str = request.body
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(request.body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise PayloadError("the form-encoded body cannot be read") from None
        if "payload" not in fields:
            raise PayloadError("the form-encoded body has no 'payload' field")
        raw = fields["payload"][0]
    if not raw:
        raise PayloadError("the request has no payload")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # also bytes that are not UTF-8
        raise PayloadError("the payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("the payload must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise PayloadError(f"the payload nests deeper than {MAX_DEPTH} levels")
    return data


def field(
    data: Any, path: str, kind: type | tuple[type, ...] = str, *, required: bool = True
) -> Any:
    """``data["a"]["b"]`` for ``path`` ``"a.b"``, checked to be ``kind``.

    A missing or mistyped required field is a :class:`PayloadError` naming the path; a
    missing optional one is None.
    """
    value = data
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            if required:
                raise PayloadError(f"the payload has no {path!r}")
            return None
        value = value[key]
    if (
        isinstance(value, bool)
        and kind is not bool
        and not (isinstance(kind, tuple) and bool in kind)
    ):
        raise PayloadError(f"{path!r} in the payload has the wrong type")
    if not isinstance(value, kind):
        raise PayloadError(f"{path!r} in the payload has the wrong type")
    if isinstance(value, str) and ("\x00" in value or len(value) > 10_000):
        raise PayloadError(f"{path!r} in the payload is not acceptable text")
    return value


def changed_paths(commits: Any, where: str) -> frozenset[str]:
    """Every path the commits added, modified or removed (GitHub's and GitLab's shape)."""
    if not isinstance(commits, list):
        raise PayloadError(f"{where!r} in the payload must be a list")
    paths: set[str] = set()
    for commit in commits:
        if not isinstance(commit, dict):
            raise PayloadError(f"every entry of {where!r} must be an object")
        for kind in ("added", "modified", "removed"):
            names = commit.get(kind) or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise PayloadError(f"{kind!r} of a commit must be a list of paths")
            paths.update(names)
    return frozenset(paths)


def hmac_sha256_matches(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body`` under
    ``secret``; compared in constant time.
    """
    scheme, _, digest = signature.strip().partition("=")
    if scheme != "sha256" or not digest:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.lower())


def require_hmac_signature(request: HookRequest, secret: str, header: str, label: str) -> None:
    """Refuse ``request`` unless its ``header`` is the ``sha256=`` HMAC of its body under
    ``secret`` (the scheme GitHub and Bitbucket share; ``label`` names the forge).
    """
    signature = request.header(header)
    if not signature:
        raise SignatureError(
            f"the project has a forge secret but the request has no {header}: set the same "
            f"secret in the {label} webhook"
        )
    if not hmac_sha256_matches(secret, request.body, signature):
        raise SignatureError(f"{header} does not match the project's forge secret")


def is_zero_commit(sha: str) -> bool:
    """Forges name a deleted branch's new commit (or a new branch's old one) all zeros."""
    return bool(sha) and set(sha) == {"0"}


def forges() -> dict[str, ModuleType]:
    """The forge parsers by the name in their receiver URL."""
    from copr_frontend.webhooks.forges import bitbucket, github, gitlab

    return {module.NAME: module for module in (github, gitlab, bitbucket)}
