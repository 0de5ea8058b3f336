"""Settings of the signing client: ``/etc/copr/sign.toml`` and ``COPR_SIGN_*`` variables.

The prefix differs from the service's ``COPR_KEYGEN_`` on purpose: a host running both
must not have the client's variables read as (unknown) service settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from copr_common.settings import ServiceSettings
from copr_keygen_client.names import CLIENT_ENV_PREFIX, DEFAULT_CLIENT_SETTINGS_FILE

__all__ = ["CLIENT_ENV_PREFIX", "DEFAULT_CLIENT_SETTINGS_FILE", "SignClientSettings"]


class SignClientSettings(ServiceSettings):
    """Where keygen is and how to prove we may use it."""

    keygen_url: str
    # The shared secret itself, or a file holding it (first line); one of the two.
    secret: SecretStr | None = None
    secret_file: Path | None = None
    timeout: float = Field(default=300.0, gt=0)

    @field_validator("keygen_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_secret(self) -> SignClientSettings:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("set exactly one of secret and secret_file")
        return self

    def secret_value(self) -> str:
        if self.secret is not None:
            return self.secret.get_secret_value()
        assert self.secret_file is not None
        try:
            text = self.secret_file.read_text().strip()
        except OSError as error:
            raise ValueError(f"cannot read secret_file {self.secret_file}: {error}") from None
        if not text:
            raise ValueError(f"secret_file {self.secret_file} is empty")
        return text.splitlines()[0].strip()
