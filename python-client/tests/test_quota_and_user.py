"""``quota_proxy`` and ``user_proxy``, and a project's ``email_notifications``, against a
live frontend."""

from __future__ import annotations

from typing import Any

import pytest

from copr.v3 import Client, CoprNoResultException, CoprRequestException


@pytest.fixture
def client(config: dict[str, Any], factory: Any) -> Client:
    factory.mock_chroot("fedora-42-x86_64")
    return Client(config)


def test_quota_of_an_owner(client: Client, db_session: Any) -> None:
    from copr_frontend.quotas.models import OwnerQuota

    client.project_proxy.add("alice", "proj", ["fedora-42-x86_64"])
    quota = client.quota_proxy.get("alice")
    assert (quota.usage, quota.limit, quota.exceeded) == (0, None, False)
    assert [(p.name, p.usage) for p in quota.projects] == [("proj", 0)]
    db_session.add(OwnerQuota(ownername="alice", limit_bytes=0))
    db_session.commit()
    quota = client.quota_proxy.get("alice")
    assert (quota.limit, quota.limit_source, quota.exceeded) == (0, "owner", True)
    with pytest.raises(CoprRequestException, match="storage quota of alice is used up"):
        client.build_proxy.create_from_pypi("alice", "proj", "foo")
    with pytest.raises(CoprNoResultException):
        client.quota_proxy.get("nobody")


def test_mail_settings_and_the_projects_opt_in(client: Client) -> None:
    assert client.user_proxy.get_settings().email_notifications is False
    changed = client.user_proxy.edit_settings(mail="alice@example.org", email_notifications=True)
    assert (changed.mail, changed.email_notifications) == ("alice@example.org", True)
    kept = client.user_proxy.edit_settings(email_notifications=False)
    assert kept.mail == "alice@example.org"
    with pytest.raises(CoprRequestException, match="is not an e-mail address"):
        client.user_proxy.edit_settings(mail="alice")
    made = client.project_proxy.add("alice", "mailing", ["fedora-42-x86_64"],
                                    email_notifications=True)  # fmt: skip
    assert made.email_notifications is True
    edited = client.project_proxy.edit("alice", "mailing", email_notifications=False)
    assert edited.email_notifications is False
