"""The names services share through Redis: worker managers, their keys, the queues.

A worker manager ``<name>`` keeps a hash ``copr:<name>:worker:<task id>`` per worker, the
set ``copr:<name>:workers`` of them and listens on ``copr:<name>:wakeup``.  The frontend
publishes wakeups to the backend's managers and reads their records for the status page,
so these names are defined here once rather than in each service.
"""

from __future__ import annotations

BUILD_MANAGER = "backend-build"
"""The backend's build dispatcher and its workers."""
ACTION_MANAGER = "backend-action"
"""The backend's action dispatcher and its workers."""
IMPORT_MANAGER = "distgit-import"
"""The dist-git importer's dispatcher and its workers."""

NOTIFICATIONS_QUEUE = "copr:backend:notifications"
"""The list build workers push finished chroots to, for the notification sink."""
NOTIFICATIONS_PROCESSING = "copr:backend:notifications:processing"
"""Where the sink keeps an entry while it handles it, so a crash loses none."""

WORKER_INDEX_PATTERN = "copr:*:workers"
"""Matches :func:`index_key` of every manager (for ``SCAN``)."""


def key_prefix(name: str) -> str:
    """``copr:<name>``: the prefix of every key of the manager ``name``."""
    return f"copr:{name}"


def record_key(name: str, worker_id: str) -> str:
    """The hash of one worker of the manager ``name``."""
    return f"{key_prefix(name)}:worker:{worker_id}"


def index_key(name: str) -> str:
    """The set of the worker ids of the manager ``name``."""
    return f"{key_prefix(name)}:workers"


def manager_of_index(key: str) -> str:
    """The manager name of an :func:`index_key` (``copr:<name>:workers`` → ``<name>``)."""
    return key.removeprefix("copr:").removesuffix(":workers")


def wakeup_channel(name: str) -> str:
    """The pub/sub channel a manager's dispatcher listens on for "there is new work"."""
    return f"{key_prefix(name)}:wakeup"
