"""The integer enums Copr stores and sends over the wire.

The numbers are a contract: the frontend's database, the backend API and the real Copr
clients all speak them, so a value here never changes once given.  Names are the ones Copr
uses in JSON (``StatusEnum.label``); a few carry a dash (``legal-flag``), which Python names
cannot, so each enum maps between the two explicitly.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class CoprEnum(IntEnum):
    """An IntEnum whose members also have Copr's wire name (``label``)."""

    @property
    def label(self) -> str:
        return self.name.replace("_DASH_", "-")

    @classmethod
    def from_label(cls, label: str) -> Self:
        """The member named ``label`` (Copr's spelling); ValueError names the choices."""
        for member in cls:
            if member.label == label:
                return member
        choices = ", ".join(m.label for m in cls)
        raise ValueError(f"{label!r} is not a valid {cls.__name__} (choose from: {choices})")

    @classmethod
    def labels(cls) -> list[str]:
        return [member.label for member in cls]


class StatusEnum(CoprEnum):
    """State of a build, of one of its chroots, or of its source (SRPM) build."""

    failed = 0
    succeeded = 1
    canceled = 2
    running = 3
    pending = 4
    skipped = 5
    starting = 6
    importing = 7
    forked = 8
    waiting = 9
    unknown = 1000

    @property
    def is_finished(self) -> bool:
        """No worker will touch a task in this state again."""
        return self in FINISHED_STATES


FINISHED_STATES = frozenset(
    {
        StatusEnum.failed,
        StatusEnum.succeeded,
        StatusEnum.canceled,
        StatusEnum.skipped,
        StatusEnum.forked,
    }
)


class ActionTypeEnum(CoprEnum):
    """What a backend action does."""

    delete = 0
    rename = 1
    legal_DASH_flag = 2
    createrepo = 3
    update_comps = 4
    gen_gpg_key = 5
    rawhide_to_release = 6
    fork = 7
    update_module_md = 8
    build_module = 9
    cancel_build = 10
    remove_dirs = 11


class ActionResult(CoprEnum):
    """Outcome of a backend action as the backend reports it."""

    WAITING = 0
    SUCCESS = 1
    FAILURE = 2


class BackendResultEnum(CoprEnum):
    """How the backend ended an action (``result`` of an action)."""

    waiting = 0
    success = 1
    failure = 2


class DefaultActionPriorityEnum(CoprEnum):
    """Default priority per action type; lower runs earlier (range -100..100)."""

    gen_gpg_key = -70
    cancel_build = -10
    createrepo = 0
    fork = 0
    build_module = 0
    update_comps = 0
    delete = 60
    rawhide_to_release = 70


class ActionPriorityEnum(CoprEnum):
    """The named ends of the action priority range an API call may ask for."""

    highest = -99
    lowest = 99


class RoleEnum(CoprEnum):
    """A user's role: ordinary user or admin."""

    user = 0
    admin = 1


class BuildSourceEnum(CoprEnum):
    """Where a build's sources come from (``source_type`` in the task JSON)."""

    unset = 0
    link = 1
    upload = 2
    pypi = 5
    rubygems = 6
    scm = 8
    custom = 9
    distgit = 10
    rpm_upload = 11


class FailTypeEnum(CoprEnum):
    """Why an SRPM build or an import failed."""

    unset = 0
    unknown_error = 1
    build_error = 2
    srpm_import_failed = 3
    srpm_download_failed = 4
    srpm_query_failed = 5
    import_timeout_exceeded = 6
    git_clone_failed = 31
    git_wrong_directory = 32
    git_checkout_error = 33
    srpm_build_error = 34


class PermissionEnum(CoprEnum):
    """A user's builder/admin right in someone else's project."""

    nothing = 0
    request = 1
    approved = 2


class CreaterepoReason(CoprEnum):
    """Why createrepo runs; some reasons run it differently (e.g. full vs. incremental)."""

    new_project = 0
    new_chroot = 1
    new_coprdir = 2
    manual_createrepo_toggle = 3
    manual_createrepo_event = 4
    post_build = 5
    delete_build = 6
    prunerepo = 7
