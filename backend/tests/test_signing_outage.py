"""Signing through a keygen that is down for a while: it waits, then signs; a real
refusal is not waited for."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from copr_backend.signing import KeygenSigner, SignerError, is_signed
from copr_backend.testing.helpers import rpm_verify
from copr_common.testing.services import free_port
from copr_keygen.settings import KeygenSettings
from copr_keygen.testing import SECRET as KEYGEN_SECRET
from copr_keygen.testing import Keygen
from copr_keygen_client.api import GenKeyResult, KeygenClient


def test_signing_waits_for_a_keygen_that_comes_back(
    tmp_path: Path, tiny_rpms: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    from copr_keygen.app import create_app
    from copr_keygen.gpg import KeyRing

    caplog.set_level(logging.INFO)
    settings = KeygenSettings(
        state_dir=tmp_path / "keygen", secret=KEYGEN_SECRET, default_key_length=2048
    )
    port = free_port()
    servers = []

    def come_up_late() -> None:
        time.sleep(2)  # keygen restarting: nothing listens on its port meanwhile
        server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
        servers.append(server)
        server.serve_forever()

    thread = threading.Thread(target=come_up_late, daemon=True)
    thread.start()
    package = tmp_path / tiny_rpms[0].name
    shutil.copyfile(tiny_rpms[0], package)
    signer = KeygenSigner(
        KeygenClient(f"http://127.0.0.1:{port}", KEYGEN_SECRET), "copr.test", retry_for=120
    )
    try:
        signer.sign("alice", "outage", [package])
        signer.write_pubkey("alice", "outage", tmp_path / "pubkey.gpg")
    finally:
        while not servers and thread.is_alive():  # a thread that failed never serves
            time.sleep(0.05)
        for server in servers:
            server.shutdown()
            server.server_close()
        KeyRing(settings.gnupg_home).stop_agent()
    assert is_signed(package)
    assert "signatures OK" in rpm_verify(package, tmp_path / "pubkey.gpg", tmp_path / "db")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is unavailable" in m for m in messages) == 1, messages
    assert sum("is back after" in m for m in messages) == 1, messages


def test_a_package_that_cannot_be_signed_fails_at_once(tmp_path: Path, keygen: Keygen) -> None:
    broken = tmp_path / "broken-1-1.noarch.rpm"
    broken.write_bytes(b"not a package at all")
    signer = KeygenSigner(KeygenClient(keygen.url, KEYGEN_SECRET), "copr.test", retry_for=300)
    started = time.monotonic()
    with pytest.raises(SignerError, match="cannot sign the packages of alice/broken"):
        signer.sign("alice", "broken", [broken])
    # A few quick tries at most, not the five minutes of patience.
    assert time.monotonic() - started < 60
    assert not is_signed(broken)


class CountingClient(KeygenClient):
    """The real client, counting the keys it asks keygen to make."""

    gen_key_calls = 0

    def gen_key(self, identity: str, *args: Any, **kwargs: Any) -> GenKeyResult:
        self.gen_key_calls += 1
        return super().gen_key(identity, *args, **kwargs)


def test_keygen_makes_a_projects_key_once(
    tmp_path: Path, tiny_rpms: list[Path], keygen: Keygen
) -> None:
    """A task ensures its project's key, publishes it and signs: one gen_key, not two."""
    client = CountingClient(keygen.url, KEYGEN_SECRET)
    signer = KeygenSigner(client, "copr.test")
    package = tmp_path / tiny_rpms[0].name
    shutil.copyfile(tiny_rpms[0], package)
    signer.ensure_key("alice", "once")
    signer.write_pubkey("alice", "once", tmp_path / "pubkey.gpg")
    signer.sign("alice", "once", [package])
    assert is_signed(package)
    assert client.gen_key_calls == 1
    signer.ensure_key("alice", "other")
    assert client.gen_key_calls == 2


def test_a_published_key_is_not_made_again(
    tmp_path: Path, tiny_rpms: list[Path], keygen: Keygen
) -> None:
    """A later task (another worker process) finds the project's pubkey.gpg published:
    it signs without asking keygen to make the key."""
    first = KeygenSigner(CountingClient(keygen.url, KEYGEN_SECRET), "copr.test")
    first.ensure_key("alice", "published")
    client = CountingClient(keygen.url, KEYGEN_SECRET)
    later = KeygenSigner(client, "copr.test")
    later.key_published("alice", "published")
    package = tmp_path / tiny_rpms[0].name
    shutil.copyfile(tiny_rpms[0], package)
    later.sign("alice", "published", [package])
    assert is_signed(package)
    assert client.gen_key_calls == 0
