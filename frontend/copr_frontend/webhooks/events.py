"""Forge-neutral events: what a forge's payload says, whatever the forge.

Parsers (``forges/``) make them; the matcher and the build logic read only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Push:
    """New commits on a branch."""

    clone_url: str
    ref: str
    """The full ref pushed to, e.g. ``refs/heads/main``."""
    commit: str
    """The commit the branch points to now: what gets built."""
    changed_files: frozenset[str] | None
    """Paths the pushed commits added, modified or removed; None when the forge does not
    say (every package of the repository is rebuilt then)."""
    sender: str | None = None


@dataclass(frozen=True)
class Tag:
    """A new tag; the tag itself is what gets built."""

    clone_url: str
    name: str
    """The tag's name without ``refs/tags/``."""
    sender: str | None = None


class PullRequestAction(Enum):
    OPENED = "opened"
    """Opened or reopened: build it."""
    UPDATED = "updated"
    """New commits on the request: build them."""
    CLOSED = "closed"
    """Closed or merged: remove its dir and its results."""


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request to the repository, built into ``<project>:pr:<number>``."""

    clone_url: str
    """The repository the request targets (where the packages' clone URL points)."""
    number: int
    action: PullRequestAction
    head_clone_url: str
    """The repository the request's commits come from (a fork, or the same one)."""
    head_commit: str
    target_branch: str
    sender: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A valid payload that builds nothing (a ping, another kind of event); ``reason``
    is what the forge shows."""

    reason: str


Event = Push | Tag | PullRequest | Ignored
