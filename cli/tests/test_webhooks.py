"""Our copr-cli's webhook and notification-endpoint commands, through the real entry point
against the live frontend."""

from __future__ import annotations

import json
from typing import Any

import pytest

HOOK = "https://hooks.example.org/copr"


@pytest.fixture
def proj(cli: Any, factory: Any) -> str:
    factory.mock_chroot("fedora-42-x86_64")
    result = cli("create", "proj", "--chroot", "fedora-42-x86_64")
    assert result.code == 0, result
    return "proj"


def ok(result: Any) -> Any:
    assert result.code == 0, result
    assert "Traceback" not in result.err
    return result


def test_endpoint_commands(cli: Any, proj: str, db_session: Any, factory: Any) -> None:
    added = ok(cli("add-notification-endpoint", proj, HOOK, "--event", "build.ended",
                   "--event", "chroot.ended", "--secret", "sixteen-chars-secret"))  # fmt: skip
    lines = added.out.splitlines()
    assert lines[0].startswith("Notification endpoint ")
    assert lines[0].endswith(f" added to alice/proj: {HOOK}")
    endpoint_id = int(lines[0].split()[2])
    assert lines[1] == "Events: chroot.ended, build.ended"
    assert lines[2] == "Secret: sixteen-chars-secret"

    listed = json.loads(ok(cli("list-notification-endpoints", proj)).out)
    assert listed == [{"id": endpoint_id, "url": HOOK, "events": ["chroot.ended", "build.ended"],
                       "enabled": True, "disabled_reason": None, "failures_in_row": 0}]  # fmt: skip
    text = ok(cli("list-notification-endpoints", "alice/proj", "--output-format", "text-row"))
    assert text.out.startswith(f"{endpoint_id}\t{HOOK}\t")

    disabled = ok(cli("edit-notification-endpoint", proj, str(endpoint_id), "--disable"))
    assert "is disabled (disabled by an admin of the project)" in disabled.out
    enabled = ok(cli("edit-notification-endpoint", proj, str(endpoint_id), "--enable"))
    assert enabled.out == (
        f"Notification endpoint {endpoint_id} ({HOOK}) is enabled; events: chroot.ended, "
        "build.ended.\n"
    )

    # Deliveries, as the frontend records them for a build's end.
    from copr_common.enums import StatusEnum
    from copr_frontend.notifications.logic import record_task_event
    from copr_frontend.projects.logic import get_project

    project = get_project(db_session, "alice", "proj")
    build = factory.build(project, source_status=StatusEnum.failed)
    record_task_event(db_session, factory.settings, "copr.build.end", build.id, "srpm-builds")
    db_session.commit()
    deliveries = json.loads(ok(cli("list-notification-deliveries", proj)).out)
    assert [(d["event"], d["build_id"], d["state"], d["attempts"]) for d in deliveries] == [
        ("build.ended", build.id, "pending", 0)
    ]
    none = json.loads(ok(cli("list-notification-deliveries", proj, "--state", "failed",
                             "--endpoint", str(endpoint_id))).out or "[]")  # fmt: skip
    assert none == []

    deleted = ok(cli("delete-notification-endpoint", proj, str(endpoint_id)))
    assert deleted.out == f"Notification endpoint {endpoint_id} was deleted.\n"
    assert ok(cli("list-notification-endpoints", proj)).out == ""


def test_endpoint_errors(cli: Any, proj: str) -> None:
    refused = cli("add-notification-endpoint", proj, "http://hooks.example.org/")
    assert refused.code == 1
    assert "must be https://" in refused.err
    assert cli("add-notification-endpoint", proj, HOOK, "--event", "build.exploded").code == 2
    assert cli("delete-notification-endpoint", proj, "0").code == 2
    missing = cli("delete-notification-endpoint", proj, "4242")
    assert missing.code == 1
    assert "has no notification endpoint 4242" in missing.err
    assert cli("edit-notification-endpoint", proj, "1", "--enable", "--disable").code == 2


def test_webhook_commands(cli: Any, proj: str) -> None:
    info = ok(cli("get-webhooks", proj)).out
    assert "Forge secret: (none: signatures are not checked)" in info
    assert "\ngithub: http://127.0.0.1:" in info
    made = ok(cli("set-forge-secret", proj)).out
    assert made.startswith("Forge secret of alice/proj: ")
    given = ok(cli("set-forge-secret", proj, "--secret", "my-secret-for-github"))
    assert given.out == "Forge secret of alice/proj: my-secret-for-github\n"
    assert "Forge secret: my-secret-for-github" in ok(cli("get-webhooks", proj)).out
    removed = ok(cli("set-forge-secret", proj, "--remove"))
    assert removed.out == "The forge secret of alice/proj was removed.\n"
    short = cli("set-forge-secret", proj, "--secret", "short")
    assert short.code == 1
    assert "at least 16" in short.err
