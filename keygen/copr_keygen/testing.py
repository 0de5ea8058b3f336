"""Test fixtures for keygen and its clients: a real keygen, tiny RPMs, rpm and gpg checks.

A pytest plugin (entry point ``copr_keygen``), lazily: nothing starts unless a test asks.

``keygen``            ``copr-keygen serve`` (gunicorn, three worker processes) on a random
                      loopback port, session-wide; ``keygen_settings`` are its settings
``keygen_client``     a :class:`copr_keygen_client.KeygenClient` for it
``identity``          a project key identity nobody has made a key for (``new_identity``
                      makes more); ``signing_identity`` one whose key exists
``rpm_file``          a fresh copy of a tiny unsigned noarch RPM built with rpmbuild
``rpm_check``         ``rpm -Kv`` against a private rpmdb holding only a given public key
``gpg_verify``        gpg's verdict on a detached signature, in a throwaway home

Keys are 2048-bit RSA (about a third of a second each here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from copr_common.testing.services import ServiceRun, free_port
from copr_keygen.gpg import KeyRing
from copr_keygen.settings import KeygenSettings

if TYPE_CHECKING:
    from copr_keygen_client import KeygenClient

SECRET = "keygen-test-secret-0123456789"  # noqa: S105 (only ever a test keygen's)
DOMAIN = "copr.example.org"
BIN = Path(sys.executable).parent

SPEC = """\
Name: tiny
Version: 1.0
Release: 1
Summary: A tiny package to sign
License: MIT
BuildArch: noarch
%description
Signed by copr-keygen tests.
%install
mkdir -p %{buildroot}/usr/share/tiny
echo hello > %{buildroot}/usr/share/tiny/hello
%files
/usr/share/tiny/hello
"""


@dataclass
class Keygen:
    """One running keygen: where it listens and the state directory behind it."""

    url: str
    settings: KeygenSettings

    @property
    def keyring(self) -> KeyRing:
        return KeyRing(self.settings.gnupg_home, self.settings.gpg_binary)

    def client(self, secret: str = SECRET) -> KeygenClient:
        # Imported here: the client is another distribution, needed only by its users.
        from copr_keygen_client import KeygenClient

        return KeygenClient(self.url, secret, timeout=60)


def _new_identity(prefix: str = "proj") -> str:
    return f"tester#{prefix}-{uuid.uuid4().hex[:10]}@{DOMAIN}"


@pytest.fixture
def new_identity() -> Callable[[], str]:
    """Makes project identities nobody has made a key for yet."""
    return _new_identity


@pytest.fixture
def identity() -> str:
    """A project identity nobody has made a key for yet."""
    return _new_identity()


@pytest.fixture(scope="session")
def keygen_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeygenSettings]:
    state = tmp_path_factory.mktemp("kg")
    settings = KeygenSettings(
        state_dir=state,
        secret=SECRET,
        default_key_length=2048,
        default_expire_days=365,
        max_sign_bytes=1024 * 1024,
        workers=3,
        threads=4,
    )
    yield settings
    KeyRing(settings.gnupg_home).stop_agent()


@pytest.fixture(scope="session")
def keygen(service_run: ServiceRun, keygen_settings: KeygenSettings) -> Iterator[Keygen]:
    """``copr-keygen serve``: gunicorn with three worker processes, same GnuPG home."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COPR_")},
        "COPR_KEYGEN_STATE_DIR": str(keygen_settings.state_dir),
        "COPR_KEYGEN_SECRET": SECRET,
        "COPR_KEYGEN_DEFAULT_KEY_LENGTH": "2048",
        "COPR_KEYGEN_DEFAULT_EXPIRE_DAYS": "365",
        "COPR_KEYGEN_MAX_SIGN_BYTES": str(keygen_settings.max_sign_bytes),
        "COPR_KEYGEN_BIND": f"127.0.0.1:{port}",
        "COPR_KEYGEN_WORKERS": "3",
        "COPR_KEYGEN_THREADS": "4",
    }
    proc = service_run.spawn("keygen", [str(BIN / "copr-keygen"), "serve"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"copr-keygen serve exited: {service_run.log_tail('keygen')}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"copr-keygen serve did not start: {service_run.log_tail('keygen')}")
        time.sleep(0.1)
    yield Keygen(url, keygen_settings)
    service_run.stop(proc)


@pytest.fixture(scope="session")
def keygen_client(keygen: Keygen) -> KeygenClient:
    return keygen.client()


@pytest.fixture(scope="session")
def signing_identity(keygen_client: KeygenClient) -> str:
    """One project key shared by the tests that only sign and verify with it."""
    identity = f"alice#signing@{DOMAIN}"
    keygen_client.gen_key(identity)
    return identity


@pytest.fixture(scope="session")
def built_rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny unsigned noarch RPM made with rpmbuild."""
    top = tmp_path_factory.mktemp("rpmbuild")
    (top / "SPECS").mkdir()
    spec = top / "SPECS" / "tiny.spec"
    spec.write_text(SPEC)
    subprocess.run(
        ["rpmbuild", "--define", f"_topdir {top}", "-bb", str(spec)],
        check=True,
        capture_output=True,
    )
    (rpm,) = (top / "RPMS" / "noarch").glob("tiny-1.0-1.noarch.rpm")
    return rpm


@pytest.fixture
def rpm_file(built_rpm: Path, tmp_path: Path) -> Path:
    """A fresh copy of the unsigned RPM for one test."""
    target = tmp_path / built_rpm.name
    shutil.copy(built_rpm, target)
    return target


@dataclass
class RpmCheck:
    returncode: int
    output: str


@pytest.fixture
def rpm_check(tmp_path: Path) -> Callable[[Path, str], RpmCheck]:
    """``rpm -Kv`` of a package against a private rpmdb holding only the given pubkey."""
    counter = iter(range(1000))

    def check(rpm: Path, pubkey: str) -> RpmCheck:
        db = tmp_path / f"rpmdb{next(counter)}"
        db.mkdir()
        key_file = db / "pubkey.gpg"
        key_file.write_text(pubkey)
        subprocess.run(
            ["rpm", "--dbpath", str(db), "--import", str(key_file)],
            check=True,
            capture_output=True,
        )
        result = subprocess.run(
            ["rpm", "--dbpath", str(db), "-Kv", str(rpm)], capture_output=True, check=False
        )
        return RpmCheck(result.returncode, (result.stdout + result.stderr).decode())

    return check


@pytest.fixture
def gpg_verify(tmp_path: Path) -> Callable[[str, bytes, bytes], bool]:
    """Verify a detached signature with gpg in a throwaway home holding only ``pubkey``."""

    def verify(pubkey: str, data: bytes, signature: bytes) -> bool:
        home = Path(tempfile.mkdtemp(prefix="verify", dir=tmp_path))
        base = ["gpg", "--homedir", str(home), "--batch", "--no-tty"]
        subprocess.run([*base, "--import"], input=pubkey.encode(), check=True, capture_output=True)
        (home / "data").write_bytes(data)
        (home / "data.sig").write_bytes(signature)
        result = subprocess.run(
            [*base, "--verify", str(home / "data.sig"), str(home / "data")],
            capture_output=True,
            check=False,
        )
        KeyRing(home).stop_agent()
        return result.returncode == 0

    return verify
