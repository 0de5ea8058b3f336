"""Signing RPMs and publishing public keys, through keygen (or not at all, for development).

keygen holds the private keys; rpmsign on this host sends it only the header to sign.
The project's key is made on demand, so a build never waits for a missing
``gen_gpg_key`` action, and ``pubkey.gpg`` is written next to the chroot dirs.

keygen may be restarting when a build ends: a call that finds it unreachable (or
answering 5xx) is tried again with backoff for ``keygen_retry_for`` seconds, with one log
line when the outage starts and one when it ends, so that a build is not failed for
it.  Signing again is harmless: rpmsign leaves a package that already carries the
signature untouched.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from copr_backend.settings import BackendSettings
from copr_common.files import write_atomically
from copr_common.key_identity import key_identity
from copr_common.outage import Backoff, Outage
from copr_keygen_client.api import KeygenClient, KeygenError, SigningError

log = logging.getLogger(__name__)

__all__ = ["KeygenSigner", "NullSigner", "Signer", "SignerError", "create_signer", "is_signed"]

T = TypeVar("T")

# What copr-sign-gpg says (through rpmsign) when keygen is unreachable or failing.
_KEYGEN_AWAY = re.compile(r"cannot reach keygen|keygen answered 5\d\d|closed the connection")
_BLIND_RETRIES = 3

# The header tags an OpenPGP signature of an RPM may be in (rpm 4 and later).
_SIGNATURE_TAGS = ("RSAHEADER", "DSAHEADER", "SIGPGP", "SIGGPG")


def is_signed(package: Path) -> bool:
    """Whether ``package`` is an RPM that carries an OpenPGP signature."""
    if not package.name.endswith(".rpm"):
        return False
    query = "|".join(f"%{{{tag}:pgpsig}}" for tag in _SIGNATURE_TAGS)
    try:
        result = subprocess.run(
            ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", query, str(package)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if result.returncode != 0:
        return False
    return any(part.strip() not in ("", "(none)") for part in result.stdout.split("|"))


class SignerError(RuntimeError):
    """Keys could not be made or packages not signed; the message says why."""


class Signer(ABC):
    """Makes projects' keys and signs their packages."""

    @abstractmethod
    def ensure_key(self, owner: str, project: str) -> None:
        """Make the project's key unless it exists."""

    @abstractmethod
    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        """Write the project's armored public key to ``target``."""

    @abstractmethod
    def key_published(self, owner: str, project: str) -> None:
        """The project's public key is published already, so its key exists.

        It need not be made: :meth:`ensure_key` does nothing for it from now on.
        """

    @abstractmethod
    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        """Sign RPMs and SRPMs in place."""

    @abstractmethod
    def sign_file(self, owner: str, project: str, path: Path) -> Path | None:
        """Sign ``path`` with the project's key: a detached armored ``<path>.asc``.

        Returns the signature's path; None where nothing signs.
        """


class NullSigner(Signer):
    """Publishes unsigned packages; only for setups without keygen."""

    def ensure_key(self, owner: str, project: str) -> None:
        return None

    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        return None

    def key_published(self, owner: str, project: str) -> None:
        return None

    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        log.warning(
            "signing is off: %d packages of %s/%s stay unsigned", len(packages), owner, project
        )

    def sign_file(self, owner: str, project: str, path: Path) -> Path | None:
        return None


class KeygenSigner(Signer):
    """Signs through the keygen service, one key per project."""

    def __init__(
        self,
        client: KeygenClient,
        domain: str,
        *,
        retry_for: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.domain = domain
        self.retry_for = retry_for
        self._sleep = sleep
        self._outage = Outage(f"keygen at {client.url}", log)
        # Keys known to exist: a task asks for its project's key before it signs, and
        # signing needs it too; keygen is asked once.
        self._keys_made: set[str] = set()

    def identity(self, owner: str, project: str) -> str:
        return str(key_identity(owner, project, self.domain))

    def _keygen_down(self, error: Exception, attempt: int) -> bool:
        if isinstance(error, KeygenError):
            return error.status is None or error.status >= 500
        # rpmsign has no status to give: copr-sign-gpg's message in its output says
        # whether keygen was away or failing.
        if _KEYGEN_AWAY.search(str(error)):
            return True
        # A keygen that has just come back may fail a request or two while it starts
        # (its gpg-agent); beyond that, the failure is the package's or the key's.
        return attempt < _BLIND_RETRIES

    def _patiently(self, what: str, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_for
        # Short pauses: keygen is back within seconds of a restart, and every second
        # waited here is a build waiting to be published.
        backoff = Backoff(0.5, 3.0)
        attempt = 0
        while True:
            attempt += 1
            try:
                value = call()
            except (KeygenError, SigningError) as error:
                delay = backoff.next()
                down = self._keygen_down(error, attempt)
                if time.monotonic() + delay > deadline or not down:
                    raise SignerError(f"cannot {what}: {error}") from None
                self._outage.failed(error, what)
                self._sleep(delay)
                continue
            self._outage.recovered()
            return value

    def ensure_key(self, owner: str, project: str) -> None:
        identity = self.identity(owner, project)
        if identity in self._keys_made:
            return
        self._patiently(f"make the key of {owner}/{project}", lambda: self.client.gen_key(identity))
        self._keys_made.add(identity)

    def key_published(self, owner: str, project: str) -> None:
        self._keys_made.add(self.identity(owner, project))

    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        identity = self.identity(owner, project)
        armored = self._patiently(
            f"get the key of {owner}/{project}", lambda: self.client.public_key(identity)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Workers of one project publish its key at the same time.
        write_atomically(target, armored)

    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        if not packages:
            return
        self.ensure_key(owner, project)
        identity = self.identity(owner, project)
        self._patiently(
            f"sign the packages of {owner}/{project}",
            lambda: self.client.sign_rpms(packages, identity),
        )

    def sign_file(self, owner: str, project: str, path: Path) -> Path | None:
        self.ensure_key(owner, project)
        identity = self.identity(owner, project)
        return self._patiently(
            f"sign {path.name} of {owner}/{project}",
            lambda: self.client.sign_file(path, identity, armor=True),
        )


def create_signer(settings: BackendSettings) -> Signer:
    if not settings.sign_rpms:
        return NullSigner()
    if not settings.keygen_secret:
        raise SignerError("sign_rpms is on but keygen_secret is not set")
    return KeygenSigner(
        KeygenClient(settings.keygen_url, settings.keygen_secret),
        settings.sign_domain,
        retry_for=settings.keygen_retry_for,
    )
