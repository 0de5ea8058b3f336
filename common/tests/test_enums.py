"""Every enum value is a wire contract with Copr's clients and database: pin each one."""

from __future__ import annotations

import pytest

from copr_common.enums import (
    FINISHED_STATES,
    ActionPriorityEnum,
    ActionResult,
    ActionTypeEnum,
    BackendResultEnum,
    BuildSourceEnum,
    CreaterepoReason,
    DefaultActionPriorityEnum,
    FailTypeEnum,
    PermissionEnum,
    RoleEnum,
    StatusEnum,
)

EXPECTED = {
    StatusEnum: {
        "failed": 0, "succeeded": 1, "canceled": 2, "running": 3, "pending": 4, "skipped": 5,
        "starting": 6, "importing": 7, "forked": 8, "waiting": 9, "unknown": 1000,
    },
    ActionTypeEnum: {
        "delete": 0, "rename": 1, "legal-flag": 2, "createrepo": 3, "update_comps": 4,
        "gen_gpg_key": 5, "rawhide_to_release": 6, "fork": 7, "update_module_md": 8,
        "build_module": 9, "cancel_build": 10, "remove_dirs": 11,
    },
    ActionResult: {"WAITING": 0, "SUCCESS": 1, "FAILURE": 2},
    BackendResultEnum: {"waiting": 0, "success": 1, "failure": 2},
    BuildSourceEnum: {
        "unset": 0, "link": 1, "upload": 2, "pypi": 5, "rubygems": 6, "scm": 8, "custom": 9,
        "distgit": 10, "rpm_upload": 11,
    },
    FailTypeEnum: {
        "unset": 0, "unknown_error": 1, "build_error": 2, "srpm_import_failed": 3,
        "srpm_download_failed": 4, "srpm_query_failed": 5, "import_timeout_exceeded": 6,
        "git_clone_failed": 31, "git_wrong_directory": 32, "git_checkout_error": 33,
        "srpm_build_error": 34,
    },
    RoleEnum: {"user": 0, "admin": 1},
    PermissionEnum: {"nothing": 0, "request": 1, "approved": 2},
    ActionPriorityEnum: {"highest": -99, "lowest": 99},
    CreaterepoReason: {
        "new_project": 0, "new_chroot": 1, "new_coprdir": 2, "manual_createrepo_toggle": 3,
        "manual_createrepo_event": 4, "post_build": 5, "delete_build": 6, "prunerepo": 7,
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("enum", "label", "value"),
    [(enum, label, value) for enum, values in EXPECTED.items() for label, value in values.items()],
)
def test_value(enum, label, value) -> None:
    member = enum.from_label(label)
    assert member == value
    assert int(member) == value
    assert member.label == label
    assert enum(value) is member


@pytest.mark.parametrize("enum", list(EXPECTED))
def test_no_value_beyond_the_contract(enum) -> None:
    assert dict(zip(enum.labels(), [int(m) for m in enum], strict=True)) == EXPECTED[enum]


def test_default_action_priorities() -> None:
    # createrepo, fork, build_module and update_comps share 0, so they are aliases.
    assert DefaultActionPriorityEnum.from_label("gen_gpg_key") == -70
    assert DefaultActionPriorityEnum.from_label("cancel_build") == -10
    assert DefaultActionPriorityEnum.from_label("delete") == 60
    assert DefaultActionPriorityEnum.from_label("rawhide_to_release") == 70
    assert DefaultActionPriorityEnum.createrepo == DefaultActionPriorityEnum.fork == 0


def test_unknown_label_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'done' is not a valid StatusEnum.*succeeded"):
        StatusEnum.from_label("done")


def test_unknown_value() -> None:
    with pytest.raises(ValueError, match="42"):
        StatusEnum(42)


def test_finished_states() -> None:
    assert {s.label for s in FINISHED_STATES} == {
        "failed", "succeeded", "canceled", "skipped", "forked",
    }  # fmt: skip
    assert StatusEnum.succeeded.is_finished
    assert not StatusEnum.running.is_finished
    assert not StatusEnum.pending.is_finished
