"""Settings of the keygen service: ``/etc/copr/keygen.toml`` and ``COPR_KEYGEN_*`` variables."""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from copr_common.settings import ServiceSettings, load_service_settings

__all__ = ["DEFAULT_SETTINGS_FILE", "ENV_PREFIX", "KeygenSettings", "load_keygen_settings"]

ENV_PREFIX = "COPR_KEYGEN_"
DEFAULT_SETTINGS_FILE = Path("/etc/copr/keygen.toml")
KEY_LENGTHS = (2048, 3072, 4096)
DIGEST_ALGOS = ("SHA256", "SHA384", "SHA512")
MIN_SECRET_LENGTH = 16
# OpenPGP stores expiry in 32 bits (2106); gpg silently wraps longer ones, so stay short.
MAX_EXPIRE_DAYS = 30 * 365


class KeygenSettings(ServiceSettings):
    """Everything the keygen service reads at start-up."""

    # Holds ``gnupg/`` (the keyring: nothing but this service may read it) and ``locks/``.
    state_dir: Path = Path("/var/lib/copr-keygen")
    # Callers present it as ``Authorization: Bearer <secret>``.
    secret: SecretStr
    # Empty: any address that knows the secret; otherwise only these networks.
    allowed_networks: list[IPv4Network | IPv6Network] = []

    default_key_length: int = 4096
    # Five years, like Copr; ``copr-keygen extend-keys`` pushes expiry further out.
    default_expire_days: int = Field(default=5 * 365, ge=0, le=MAX_EXPIRE_DAYS)
    default_digest_algo: Literal["SHA256", "SHA384", "SHA512"] = "SHA256"

    # Largest body the signing route accepts (rpmsign sends only an RPM header).
    max_sign_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    gpg_binary: str = "/usr/bin/gpg"
    gpg_timeout: float = Field(default=600.0, gt=0)
    # How long a request waits for another one making the same identity's key.
    lock_timeout: float = Field(default=900.0, gt=0)

    log_level: str = "INFO"
    log_file: Path | None = None

    # ``copr-keygen serve`` (gunicorn) only.
    bind: str = "127.0.0.1:5003"
    workers: int = Field(default=2, ge=1)
    threads: int = Field(default=4, ge=1)

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError("must be an absolute path")
        return value

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value

    @field_validator("default_key_length")
    @classmethod
    def _key_length(cls, value: int) -> int:
        if value not in KEY_LENGTHS:
            raise ValueError(f"must be one of {', '.join(map(str, KEY_LENGTHS))}")
        return value

    @property
    def gnupg_home(self) -> Path:
        return self.state_dir / "gnupg"

    @property
    def lock_dir(self) -> Path:
        return self.state_dir / "locks"


def load_keygen_settings(
    file: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
) -> KeygenSettings:
    """Settings from ``file``, else ``$COPR_KEYGEN_CONFIG``, else ``/etc/copr/keygen.toml``
    when it exists; and the environment.
    """
    return load_service_settings(
        KeygenSettings, ENV_PREFIX, DEFAULT_SETTINGS_FILE, file, environ=environ
    )
