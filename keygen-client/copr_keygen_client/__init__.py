"""Client side of keygen, used on the backend host: the private keys stay on keygen.

from copr_keygen_client import KeygenClient, load_client_settings

client = KeygenClient.from_settings(load_client_settings())
client.gen_key("alice#hello@copr.example.org")
client.sign_rpms(["/results/.../hello-1-1.noarch.rpm"], "alice#hello@copr.example.org")
pubkey = client.public_key("alice#hello@copr.example.org")
"""

from typing import TYPE_CHECKING

from copr_keygen_client.api import (
    KeygenClient,
    KeygenError,
    SigningError,
    load_client_settings,
    sign_rpms,
)

if TYPE_CHECKING:
    from copr_keygen_client.settings import SignClientSettings


def __getattr__(name: str) -> object:
    # The settings model (pydantic) only when asked for: copr-sign-gpg, started once per
    # signed package, imports this package too.
    if name == "SignClientSettings":
        from copr_keygen_client.settings import SignClientSettings

        return SignClientSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KeygenClient",
    "KeygenError",
    "SignClientSettings",
    "SigningError",
    "load_client_settings",
    "sign_rpms",
]
