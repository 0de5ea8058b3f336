"""Key logic: make a project's key once, look it up, sign with it, extend expiring keys.

Functions here take a :class:`KeyRing` and plain values and raise :class:`KeyError`-like
domain errors; the HTTP views and the command line turn them into responses and output.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from copr_common.key_identity import KeyIdentity
from copr_keygen.gpg import DAY, KeyRecord, KeyRing
from copr_keygen.locks import identity_lock

__all__ = [
    "ExpiredKeyError",
    "KeyCreation",
    "KeyNotFoundError",
    "KeyService",
    "validate_name_real",
]

log = logging.getLogger(__name__)

MAX_NAME_REAL = 200
# Not a valid identity, so it cannot collide with one's lock.
KEYRING_LOCK = "<keyring>"


class KeyNotFoundError(LookupError):
    """No key exists for the identity."""


class ExpiredKeyError(RuntimeError):
    """The identity's key has expired; ``copr-keygen extend-keys`` renews it."""


@dataclass(frozen=True)
class KeyCreation:
    key: KeyRecord
    created: bool


def validate_name_real(name_real: str) -> str:
    """A key's real name: printable text without the ``<>()`` that delimit user id parts."""
    if not name_real or not name_real.strip():
        raise ValueError("name_real is empty")
    if len(name_real) > MAX_NAME_REAL:
        raise ValueError(f"name_real is {len(name_real)} characters long: at most {MAX_NAME_REAL}")
    if not name_real.isprintable() or any(ch in name_real for ch in "<>()"):
        raise ValueError(
            f"name_real {name_real!r} is invalid: use printable characters without < > ( )"
        )
    if name_real != name_real.strip():
        raise ValueError(f"name_real {name_real!r} has leading or trailing spaces")
    return name_real


class KeyService:
    """The keyring plus the per-identity locks that make key creation happen once."""

    def __init__(self, keyring: KeyRing, lock_dir: Path, lock_timeout: float = 900.0):
        self.keyring = keyring
        self.lock_dir = lock_dir
        self.lock_timeout = lock_timeout

    def _keyring_write_lock(self) -> AbstractContextManager[None]:
        """One writer at a time: gpg 2.2 fails ("no writable public keyring found") rather
        than wait when another process holds the keybox lock."""
        return identity_lock(self.lock_dir, KEYRING_LOCK, self.lock_timeout)

    def find(self, identity: KeyIdentity) -> KeyRecord | None:
        """The identity's key; the newest one should an older keyring hold several."""
        keys = [k for k in self.keyring.find(str(identity)) if not k.revoked]
        return keys[-1] if keys else None

    def get(self, identity: KeyIdentity) -> KeyRecord:
        key = self.find(identity)
        if key is None:
            raise KeyNotFoundError(f"no key for {identity}")
        return key

    def ensure(
        self, identity: KeyIdentity, name_real: str, length: int, expire_days: int
    ) -> KeyCreation:
        """Return the identity's key, making it first if there is none.

        The check and the creation happen under the identity's lock, so callers racing
        on one identity (threads or processes) end up with one key between them.
        """
        existing = self.find(identity)
        if existing is not None:
            return KeyCreation(existing, created=False)
        with identity_lock(self.lock_dir, str(identity).lower(), self.lock_timeout):
            existing = self.find(identity)
            if existing is not None:
                return KeyCreation(existing, created=False)
            started = time.monotonic()
            with self._keyring_write_lock():
                fingerprint = self.keyring.generate(name_real, str(identity), length, expire_days)
            log.info(
                "made %d-bit key %s for %s in %.1fs",
                length,
                fingerprint,
                identity,
                time.monotonic() - started,
            )
            return KeyCreation(self.get(identity), created=True)

    def public_key(self, identity: KeyIdentity) -> str:
        return self.keyring.export_public(self.get(identity).fingerprint)

    def sign(
        self, identity: KeyIdentity, data: bytes, digest_algo: str, armor: bool = False
    ) -> bytes:
        key = self.get(identity)
        if key.expired():
            raise ExpiredKeyError(
                f"the key of {identity} expired at {_iso(key.expires)}: "
                "run `copr-keygen extend-keys` on the keygen host"
            )
        return self.keyring.sign_detached(key.fingerprint, data, digest_algo, armor=armor)

    def expiring(self, within_days: int, now: float | None = None) -> list[KeyRecord]:
        """Keys that expire within ``within_days`` (expired ones included)."""
        limit = (time.time() if now is None else now) + within_days * DAY
        return [
            k
            for k in self.keyring.all_keys()
            if not k.revoked and k.expires is not None and k.expires <= limit
        ]

    def extend(self, key: KeyRecord, expire_days: int) -> KeyRecord:
        """Push ``key``'s expiry to ``expire_days`` from now, under its identity's lock."""
        name = key.emails[0] if key.emails else key.fingerprint.lower()
        with (
            identity_lock(self.lock_dir, name, self.lock_timeout),
            self._keyring_write_lock(),
        ):
            self.keyring.set_expiry(key, expire_days)
        renewed = [k for k in self.keyring.all_keys() if k.fingerprint == key.fingerprint]
        log.info("extended key %s (%s) by %d days", key.fingerprint, name, expire_days)
        return renewed[0] if renewed else key


def _iso(timestamp: int | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
