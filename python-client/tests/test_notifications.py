"""``notification_proxy`` and the webhook proxy's forge secret, against a live frontend."""

from __future__ import annotations

from typing import Any

import pytest

from copr.v3 import Client, CoprAuthException, CoprNoResultException, CoprRequestException

HOOK = "https://hooks.example.org/copr"


@pytest.fixture
def client(config: dict[str, Any], factory: Any) -> Client:
    factory.mock_chroot("fedora-42-x86_64")
    return Client(config)


@pytest.fixture
def project(client: Client) -> Any:
    return client.project_proxy.add("alice", "proj", ["fedora-42-x86_64"])


def test_endpoints_add_list_edit_delete(client: Client, project: Any) -> None:
    proxy = client.notification_proxy
    added = proxy.add_endpoint("alice", "proj", HOOK, events=["build.ended"])
    assert added.url == HOOK
    assert added.events == ["build.ended"]
    assert len(added.secret) == 40
    (listed,) = proxy.get_endpoint_list("alice", "proj")
    assert listed.id == added.id
    assert "secret" not in listed
    edited = proxy.edit_endpoint("alice", "proj", added.id, enabled=False,
                                 events=["build.started", "build.ended"])  # fmt: skip
    assert edited.enabled is False
    assert edited.events == ["build.started", "build.ended"]
    deliveries = proxy.get_delivery_list("alice", "proj", endpoint_id=added.id, state="failed",
                                         pagination={"limit": 5})  # fmt: skip
    assert list(deliveries) == []
    assert deliveries.meta["limit"] == 5
    proxy.delete_endpoint("alice", "proj", added.id)
    assert list(proxy.get_endpoint_list("alice", "proj")) == []
    with pytest.raises(CoprNoResultException):
        proxy.delete_endpoint("alice", "proj", added.id)


def test_bad_endpoint_is_a_request_error(client: Client, project: Any) -> None:
    with pytest.raises(CoprRequestException, match="must be https://"):
        client.notification_proxy.add_endpoint("alice", "proj", "http://hooks.example.org/")


def test_webhook_info_and_forge_secret(client: Client, project: Any) -> None:
    info = client.webhook_proxy.info("alice", "proj")
    assert info.urls.github.endswith(f"/webhooks/github/{project.id}/{info.webhook_secret}/")
    assert info.forge_secret is None
    generated = client.webhook_proxy.set_forge_secret("alice", "proj", generate=True)
    assert generated.forge_secret
    given = client.webhook_proxy.set_forge_secret("alice", "proj", "a-secret-of-my-own")
    assert given.forge_secret == "a-secret-of-my-own"
    assert client.webhook_proxy.set_forge_secret("alice", "proj").forge_secret is None


def test_strangers_see_no_endpoints(client: Client, project: Any, factory: Any,
                                    live_server: Any) -> None:  # fmt: skip
    stranger = factory.user("mallory")
    login, token = factory.token(stranger)
    other = Client({**client.config, "login": login, "token": token, "username": "mallory"})
    with pytest.raises(CoprAuthException):
        other.notification_proxy.get_endpoint_list("alice", "proj")
    with pytest.raises(CoprAuthException):
        other.webhook_proxy.info("alice", "proj")
