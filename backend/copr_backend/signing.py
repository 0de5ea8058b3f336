"""Signing RPMs and publishing public keys, through keygen (or not at all, for development).

keygen holds the private keys; rpmsign on this host sends it only the header to sign.
The project's key is made on demand, so a build never waits for a missing
``gen_gpg_key`` action, and ``pubkey.gpg`` is written next to the chroot dirs.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path

from copr_backend.settings import BackendSettings
from copr_common.key_identity import key_identity
from copr_keygen_client.api import KeygenClient, KeygenError, SigningError

log = logging.getLogger(__name__)

__all__ = ["KeygenSigner", "NullSigner", "Signer", "SignerError", "create_signer"]


class SignerError(RuntimeError):
    """Keys could not be made or packages not signed; the message says why."""


class Signer(ABC):
    @abstractmethod
    def ensure_key(self, owner: str, project: str) -> None:
        """Make the project's key unless it exists."""

    @abstractmethod
    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        """Write the project's armored public key to ``target``."""

    @abstractmethod
    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        """Sign RPMs and SRPMs in place."""


class NullSigner(Signer):
    """Publishes unsigned packages; only for setups without keygen."""

    def ensure_key(self, owner: str, project: str) -> None:
        return None

    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        return None

    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        log.warning(
            "signing is off: %d packages of %s/%s stay unsigned", len(packages), owner, project
        )


class KeygenSigner(Signer):
    def __init__(self, client: KeygenClient, domain: str) -> None:
        self.client = client
        self.domain = domain

    def identity(self, owner: str, project: str) -> str:
        return str(key_identity(owner, project, self.domain))

    def ensure_key(self, owner: str, project: str) -> None:
        try:
            self.client.gen_key(self.identity(owner, project))
        except KeygenError as error:
            raise SignerError(f"cannot make the key of {owner}/{project}: {error}") from None

    def write_pubkey(self, owner: str, project: str, target: Path) -> None:
        try:
            armored = self.client.public_key(self.identity(owner, project))
        except KeygenError as error:
            raise SignerError(f"cannot get the key of {owner}/{project}: {error}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(armored)
        partial.replace(target)

    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        if not packages:
            return
        self.ensure_key(owner, project)
        try:
            self.client.sign_rpms(packages, self.identity(owner, project))
        except (SigningError, KeygenError) as error:
            raise SignerError(f"cannot sign the packages of {owner}/{project}: {error}") from None


def create_signer(settings: BackendSettings) -> Signer:
    if not settings.sign_rpms:
        return NullSigner()
    if not settings.keygen_secret:
        raise SignerError("sign_rpms is on but keygen_secret is not set")
    return KeygenSigner(
        KeygenClient(settings.keygen_url, settings.keygen_secret), settings.sign_domain
    )
